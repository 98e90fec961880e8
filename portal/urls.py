from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("instances/<slug:slug>/", include("instances.urls")),
    path("instances/<slug:slug>/billing/", include("billing.urls")),
    # Email providers post delivery events here: /anymail/<provider>/tracking/.
    path("anymail/", include("anymail.urls")),
]
