from django.urls import path

from . import views

app_name = "instances"
urlpatterns = [
    path("", views.InstanceDetailView.as_view(), name="detail"),
]
