"""First-run set-up for `make run`: the demo avatar and an admin account, both only if missing."""
import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from avatars.models import Avatar
from avatars.worker.demo import create_demo_avatar


class Command(BaseCommand):
    help = "Create the demo avatar and an admin account when they do not exist yet."

    def handle(self, *args, **options):
        if not Avatar.objects.exists():
            avatar = create_demo_avatar()
            self.stdout.write(f"Created the demo avatar «{avatar.name}».")
        User = get_user_model()
        username = os.environ.get("ADMIN_USERNAME", "admin")
        if User.objects.filter(username=username).exists():
            return
        password = os.environ.get("ADMIN_PASSWORD")
        generated = not password
        password = password or secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email=os.environ.get("ADMIN_EMAIL", ""), password=password)
        if generated:
            self.stdout.write(self.style.WARNING(
                f"\n  Admin account created — username: {username}  password: {password}\n"
                "  (shown only this once; change it in /admin/ or set ADMIN_PASSWORD before the first run)\n"
            ))
        else:
            self.stdout.write(f"Admin account «{username}» created from ADMIN_USERNAME/ADMIN_PASSWORD.")
