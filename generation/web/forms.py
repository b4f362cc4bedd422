from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from avatars.models import Motion
from generation.models import Frame, Language, Resolution, Subtitles
from generation.web.validation import validate_input


class GenerateForm(forms.Form):
    text = forms.CharField(
        label=_("Text"), strip=False, required=False,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": _("Type the text the avatar will say…")}),
    )
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices, initial=Language.RUSSIAN,
                                 widget=forms.RadioSelect)
    avatar = forms.IntegerField(required=False, widget=forms.HiddenInput)
    voice = forms.CharField(required=False)
    motion = forms.ChoiceField(label=_("Head motion"), required=False,
                               choices=[("", _("As the avatar is set"))] + Motion.choices)
    subtitles = forms.ChoiceField(label=_("Subtitles"), required=False, choices=Subtitles.choices,
                                  initial=Subtitles.NONE)
    frame = forms.ChoiceField(label=_("Frame"), required=False,
                              choices=[("", _("As the avatar is set"))] + Frame.choices)
    resolution = forms.TypedChoiceField(label=_("Resolution"), required=False, coerce=int, empty_value=None,
                                        choices=[("", _("As the avatar is set"))] + Resolution.choices)
    # "", blur, colour (then background_colour), image:<id> of one of the user's pictures, or #rrggbb
    background = forms.CharField(label=_("Background"), required=False)
    background_colour = forms.CharField(required=False)
    rate = forms.FloatField(label=_("Pace"), required=False, initial=1.0,
                            widget=forms.NumberInput(attrs={"step": "0.05", "min": "0.5", "max": "2"}))
    audio = forms.FileField(label=_("Or your own recording"), required=False,
                            widget=forms.ClearableFileInput(attrs={"accept": "audio/*"}))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["text"].widget.attrs["maxlength"] = settings.MAX_TEXT_LENGTH

    @staticmethod
    def background_choice(data) -> dict:
        """The page's one background control as validate_input's background and background_image."""
        chosen = data.get("background") or ""
        if chosen == "colour":
            return {"background": data.get("background_colour") or ""}
        if chosen.startswith("image:"):
            return {"background": "image", "background_image": chosen.split(":", 1)[1]}
        return {"background": chosen}

    def clean(self):
        data = super().clean()
        try:
            self.validated = validate_input(
                user=self.user, text=data.get("text", ""), language=data.get("language") or self.data.get("language"),
                avatar=data.get("avatar"), voice=data.get("voice", ""), motion=data.get("motion", ""),
                subtitles=data.get("subtitles", ""), rate=data.get("rate"),
                audio=data.get("audio") or None,
                frame=data.get("frame", ""), resolution=data.get("resolution"), **self.background_choice(data),
            )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
        return data
