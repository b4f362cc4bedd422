"""Avatar pictures, served only to those who may see the avatar (there is no public media route)."""
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.views.decorators.http import require_GET

from generation import downloads, selectors


@login_required
@require_GET
def image(request, pk):
    avatar = selectors.visible_avatar(request.user, pk)
    if not avatar.image:
        raise Http404("This avatar has no picture.")
    mime = downloads.sniff_image_type(avatar.image)
    extension = mime.rsplit("/", 1)[-1].replace("jpeg", "jpg") if mime.startswith("image/") else "bin"
    return downloads.file_response(request, avatar.image, content_type=mime, filename=f"avatar-{pk}.{extension}")
