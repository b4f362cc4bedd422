from django.urls import path

from avatars import views

urlpatterns = [
    path("avatars/<int:pk>/image", views.image, name="avatar-image"),
]
