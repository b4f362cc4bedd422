from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GenerationConfig(AppConfig):
    name = "generation"
    verbose_name = _("Videos")

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.db.models.signals import pre_save
        from django_q.signals import post_spawn

        from generation import lifecycle, quotas, webhooks, worker
        from generation.web import tokens

        # what follows a request's state change (lifecycle.py sends, the readers of its models receive)
        lifecycle.request_finished.connect(webhooks.on_request_finished, dispatch_uid="webhook-on-finish")
        lifecycle.video_made.connect(quotas.on_video_made, dispatch_uid="quota-on-video")

        post_spawn.connect(worker.on_spawn, dispatch_uid="generation-worker-spawn")
        pre_save.connect(tokens.revoke_tokens_on_password_change, sender=get_user_model(),
                         dispatch_uid="revoke-tokens-on-password-change")
