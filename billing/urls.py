from .views import exports, invoices, plans, runs, sending, subjects

app_name = "billing"
urlpatterns = [
    *runs.urlpatterns,
    *invoices.urlpatterns,
    *plans.urlpatterns,
    *exports.urlpatterns,
    *subjects.urlpatterns,
    *sending.urlpatterns,
]
