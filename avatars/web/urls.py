from django.urls import path

from avatars.web import views

urlpatterns = [
    path("avatars/", views.own_avatars, name="own-avatars"),
    path("avatars/<int:pk>/delete/", views.delete, name="avatar-delete"),
    path("avatars/<int:pk>/rename/", views.rename, name="avatar-rename"),
    path("avatars/<int:pk>/source", views.source, name="avatar-source"),
    path("avatars/<int:pk>/preview", views.preview, name="avatar-preview"),
    path("avatars/<int:pk>/thumbnail.jpg", views.thumbnail, name="avatar-thumbnail"),
]
