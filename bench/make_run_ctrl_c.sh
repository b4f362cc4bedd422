#!/bin/bash
# bench/make_run_ctrl_c.sh [stops]: the real `make run` (own database under /tmp), stopped by SIGINT to its group each time.
# Ctrl-C on `make run` as a terminal sends it: SIGINT to the whole foreground process group.
cd /work/wt/web
export DATABASE_URL=sqlite:////tmp/web_make.sqlite3 MEDIA_ROOT=/tmp/web_make_media
for i in $(seq 1 ${1:-3}); do
  setsid make run ADDR=127.0.0.1:3918 > /tmp/make_run_$i.log 2>&1 &
  PG=$!
  for t in $(seq 1 240); do curl -s -o /dev/null http://127.0.0.1:3918/accounts/login/ && break; sleep 0.5; done
  sleep 8  # let qcluster start all of its processes
  before=$(ps -eo pid,sid,args | awk -v s=$PG '$2==s' | wc -l)
  pids=$(ps -eo pid,sid | awk -v s=$PG '$2==s{print $1}'; for p in $(pgrep -P $(pgrep -f "manage.py serve --addr 127.0.0.1:3918" | head -1) 2>/dev/null); do echo $p; ps -o pid= --ppid $p; ps -eo pid,sid | awk -v s=$p '$2==s{print $1}'; done)
  pids=$(echo $pids | tr ' ' '\n' | sort -u)
  n=$(echo "$pids" | grep -c .)
  t0=$(date +%s.%N); kill -INT -- -$PG; wait $PG; t1=$(date +%s.%N)
  sleep 1
  left=0; for p in $pids; do if [ -d /proc/$p ] && ! grep -q '^State:\s*Z' /proc/$p/status 2>/dev/null; then left=$((left+1)); ps -o pid,args -p $p | tail -1; fi; done
  printf "make run stop %d: %d processes, %d left, %.1f s\n" $i $n $left $(echo "$t1 - $t0" | bc)
done
