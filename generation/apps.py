from django.apps import AppConfig


class GenerationConfig(AppConfig):
    name = "generation"
    verbose_name = "Generation"

    def ready(self):
        from django_q.signals import post_spawn

        from generation import worker

        post_spawn.connect(worker.on_spawn, dispatch_uid="generation-worker-spawn")
