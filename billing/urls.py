from django.urls import path

from . import views

app_name = "billing"
urlpatterns = [
    path("runs/<str:month>/", views.BillingRunDetailView.as_view(), name="run"),
    path("invoices/<int:pk>/pdf/", views.InvoicePdfView.as_view(), name="invoice-pdf"),
]
