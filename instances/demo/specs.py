"""The demo instances: where they are, how they trade, and how they bill."""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class DemoAssignment:
    """A shop billed with another plan: the first shop of `kind` not yet assigned."""

    kind: str  # "hub" or "producer"
    plan_code: str
    note: str
    # Ended: from 18 months before the demo's date to 6 months before; else from 12
    # months before, open-ended.
    ended: bool = False


@dataclass(frozen=True)
class DemoBilling:
    plan_file: str  # in plans/, imported as is
    issuer: dict  # IssuerProfile fields
    assignments: tuple[DemoAssignment, ...]
    # Invoice details a manager typed in for the first billing groups (external ids).
    subjects: tuple[dict, ...]


@dataclass(frozen=True)
class Words:
    """Vocabulary for invented names; `pattern` orders the parts of a shop name."""

    pattern: str
    first: tuple[str, ...]
    last: tuple[str, ...]
    adjectives: tuple[str, ...]
    producers: tuple[str, ...]
    hubs: tuple[str, ...]
    cycle: str


_EN = Words(
    pattern="{place} {adj} {noun}",
    first=("Alex", "Sam", "Jo", "Chris", "Priya", "Amir", "Olivia", "Noah", "Grace")
    + ("Liam", "Maya", "Tom", "Zoe", "Ben", "Aisha", "Ruth", "Owen", "Ella", "Jack"),
    last=("Smith", "Jones", "Taylor", "Brown", "Wilson", "Patel", "Khan", "Evans")
    + ("Walker", "Wright", "Green", "Hall", "Wood", "Clarke", "Murphy", "Nguyen"),
    adjectives=("Green", "Wild", "Little", "Old", "Sunny", "Hilltop", "Riverside")
    + ("Oak", "Willow", "Meadow", "Valley", "Orchard Lane"),
    producers=("Farm", "Orchard", "Dairy", "Bakery", "Market Garden", "Growers")
    + ("Honey", "Mushrooms", "Free Range Eggs", "Microgreens"),
    hubs=("Food Hub", "Food Co-op", "Veg Box", "Community Market", "Local Larder")
    + ("Buying Group",),
    cycle="Order cycle",
)
_ES = Words(
    pattern="{noun} {adj} {place}",
    first=("Ana", "Jordi", "Marta", "Pau", "Lucia", "Javier", "Laia", "Pablo")
    + ("Carmen", "Marc", "Nuria", "Sergio", "Irene", "Alba", "Oriol", "Iker"),
    last=("Garcia", "Martinez", "Lopez", "Sanchez", "Puig", "Ferrer", "Romero")
    + ("Navarro", "Torres", "Vidal", "Serra", "Ruiz", "Soler", "Etxeberria", "Gil"),
    adjectives=("Verde", "La Solana", "El Olivar", "Del Río", "Can Soler", "La Era")
    + ("Los Almendros", "El Molino", "La Fuente", "Sant Jordi"),
    producers=("Huerta", "Granja", "Quesería", "Panadería", "Bodega", "Apicultura")
    + ("Finca", "Hortalizas"),
    hubs=("Grupo de Consumo", "Cooperativa", "Cesta", "Mercado", "Despensa"),
    cycle="Ciclo de pedidos",
)


@dataclass(frozen=True)
class DemoInstanceSpec:
    slug: str
    name: str
    country: str
    time_zone: str
    currency: str
    language: str
    invoice_prefix: str
    enterprises: int  # at scale 1
    activity: float  # multiplies every shop's weekly orders
    basket: int  # median products total of an order, in whole currency units
    shipping: tuple[str, ...]  # flat delivery fees a shop may charge
    tax_rate: Decimal  # VAT / GST / IVA on the taxable share of an order
    tax_modes: tuple[int, int, int]  # weights of tax included / added / not charged
    taxable_shares: tuple[str, ...]
    phone: str  # a fictional number range
    places: tuple[str, ...]
    words: Words
    billing: DemoBilling


DEMO_INSTANCES = (
    DemoInstanceSpec(
        slug="uk",
        name="OFN UK",
        country="GB",
        time_zone="Europe/London",
        currency="GBP",
        language="en",
        invoice_prefix="UK",
        enterprises=360,
        activity=1.0,
        basket=30,
        shipping=("3.50", "4.95", "6.00"),
        tax_rate=Decimal("0.20"),
        tax_modes=(70, 5, 25),
        taxable_shares=("0.10", "0.20", "0.35"),
        phone="+44 7700 900",
        places=("Stroud", "Totnes", "Hebden Bridge", "Lewes", "Frome", "Kendal")
        + ("Ludlow", "Hackney", "Bristol", "Sheffield", "Norwich", "Exeter")
        + ("Glasgow", "Cardiff", "Oxford", "York", "Brixton", "Machynlleth"),
        words=_EN,
        billing=DemoBilling(
            plan_file="ofn-legacy-uk.json",
            issuer={
                "legal_name": "Open Food Network UK CIC",
                "address": "Unit 4, 12 Example Street\nStroud GL5 1AA\nUnited Kingdom",
                "tax_id": "GB 999 9999 73",
                "email": "accounts@ofn-uk.example.org",
                "bank_details": "Example Bank plc\nSort code 00-00-00, account "
                "00000000\nIBAN GB00 EXMP 0000 0000 0000 00",
                "payment_terms_days": 30,
            },
            assignments=(
                DemoAssignment(
                    "hub",
                    "community",
                    "Community food project: rate agreed with the board",
                ),
                DemoAssignment(
                    "hub",
                    "community",
                    "Pilot year of the community rate, ended",
                    ended=True,
                ),
            ),
            subjects=(
                {
                    "invoice_name": "Stroud Valleys Food Co-operative Ltd",
                    "address": "The Old Mill, 3 Example Lane\nStroud GL5 3ZZ",
                    "tax_id": "GB 999 0000 12",
                    "email": "treasurer@stroud-food.example.org",
                },
                {
                    "invoice_name": "Hebden Bridge Community Larder CIC",
                    "address": "14 Example Terrace\nHebden Bridge HX7 0ZZ",
                    "tax_id": "",
                    "email": "accounts@hebden-larder.example.org",
                },
            ),
        ),
    ),
    DemoInstanceSpec(
        slug="au",
        name="OFN Australia",
        country="AU",
        time_zone="Australia/Melbourne",
        currency="AUD",
        language="en",
        invoice_prefix="AU",
        enterprises=320,
        activity=1.5,
        basket=55,
        shipping=("8.00", "10.00", "12.50"),
        tax_rate=Decimal("0.10"),
        tax_modes=(75, 5, 20),
        taxable_shares=("0.10", "0.25", "0.40"),
        phone="+61 491 570 ",
        places=("Castlemaine", "Daylesford", "Bendigo", "Ballarat", "Fitzroy")
        + ("Brunswick", "Byron Bay", "Hobart", "Margaret River", "Orange")
        + ("Mudgee", "Geelong", "Fremantle", "Bellingen", "Kyneton"),
        words=_EN,
        billing=DemoBilling(
            plan_file="ofn-legacy-au.json",
            issuer={
                "legal_name": "Open Food Network Australia Ltd",
                "address": "Level 2, 100 Example Road\nCastlemaine VIC 3450\nAustralia",
                "tax_id": "ABN 00 000 000 000",
                "email": "accounts@ofn-au.example.org",
                "bank_details": "Example Bank Australia\nBSB 000-000, account "
                "000000000\nOpen Food Network Australia Ltd",
                "payment_terms_days": 30,
            },
            assignments=(),
            subjects=(
                {
                    "invoice_name": "Daylesford Growers Collective Pty Ltd",
                    "address": "7 Example Street\nDaylesford VIC 3460",
                    "tax_id": "ABN 11 111 111 111",
                    "email": "admin@daylesford-growers.example.org",
                },
            ),
        ),
    ),
    DemoInstanceSpec(
        slug="katuma",
        name="Katuma",
        country="ES",
        time_zone="Europe/Madrid",
        currency="EUR",
        language="es",
        invoice_prefix="KAT",
        enterprises=260,
        activity=1.5,
        basket=28,
        shipping=("0.00", "2.00", "3.50"),
        tax_rate=Decimal("0.10"),
        tax_modes=(50, 35, 15),
        taxable_shares=("0.60", "0.80", "1.00"),
        phone="+34 600 000 ",
        places=("Gràcia", "Lavapiés", "Sants", "Vallecas", "Zaragoza", "Girona")
        + ("Vic", "Manresa", "Pamplona", "Logroño", "Teruel", "Reus", "Lleida")
        + ("Bilbao", "Valencia", "Ruzafa"),
        words=_ES,
        billing=DemoBilling(
            plan_file="katuma.json",
            issuer={
                "legal_name": "Katuma SCCL",
                "address": "Carrer de l'Exemple 1, baixos\n08001 Barcelona\nEspaña",
                "tax_id": "ESF00000000",
                "email": "facturacion@katuma.example.org",
                "bank_details": "IBAN ES00 0000 0000 0000 0000 0000\nBIC EXAMPLEXXX",
                "payment_terms_days": 30,
            },
            assignments=(
                DemoAssignment(
                    "hub",
                    "producers",
                    "Cooperativa de productores: factura por ventas (asamblea)",
                ),
            ),
            subjects=(
                {
                    "invoice_name": "Cooperativa Horta de Gràcia SCCL",
                    "address": "Carrer de l'Exemple 22\n08012 Barcelona",
                    "tax_id": "ESF11111111",
                    "email": "factures@horta-gracia.example.org",
                },
                {
                    "invoice_name": "Asociación Grupo de Consumo Lavapiés",
                    "address": "Calle del Ejemplo 5\n28012 Madrid",
                    "tax_id": "ESG22222222",
                    "email": "tesoreria@gc-lavapies.example.org",
                },
            ),
        ),
    ),
)
