from .views import exports, invoices, plans, runs, subjects

app_name = "billing"
urlpatterns = [
    *runs.urlpatterns,
    *invoices.urlpatterns,
    *plans.urlpatterns,
    *exports.urlpatterns,
    *subjects.urlpatterns,
]
