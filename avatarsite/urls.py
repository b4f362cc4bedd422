from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.static import serve

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the interface language switch
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/", include("generation.api.urls")),
    path("", include("generation.urls")),
    # Avatar photos only: results are served by owner-checking views, never as public media.
    re_path(r"^media/(?P<path>avatars/.+)$", serve, {"document_root": settings.MEDIA_ROOT}),
]

handler404 = "avatarsite.errors.not_found"
handler500 = "avatarsite.errors.server_error"
