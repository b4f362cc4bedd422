from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

admin.site.site_header = admin.site.site_title = _("Talking Avatar administration")

# No route serves MEDIA_ROOT: every stored file is handed out by a view that checks who asks.
urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the interface language switch
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("accounts.urls")),  # sign-up, password change and reset
    path("s/", include("generation.web.share_urls")),  # public pages of shared videos: the token is the key
    path("api/", include("generation.web.api.urls")),
    path("", include("avatars.web.urls")),
    path("", include("generation.web.urls")),
]

handler404 = "generation.web.error_pages.not_found"
handler500 = "generation.web.error_pages.server_error"
