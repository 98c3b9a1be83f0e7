"""Static reference data for the sandbox tenant: cities, names, teams, apps and client strings.

Kept apart from the model builder so the numbers that make the tenant look real (coordinates, UTC
offsets, app ids) are reviewable in one place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class City:
    """A real place a sign-in or git event can come from; `ip_prefix` is a synthetic /16 for it."""

    name: str
    state: str
    country: str
    lat: float
    lon: float
    utc_offset: float
    ip_prefix: str


def _c(name: str, state: str, cc: str, lat: float, lon: float, off: float, prefix: str) -> City:
    return City(name, state, cc, lat, lon, off, prefix)


# Office cities (homes). UTC offsets are the northern-summer ones; the window is Jul-Sep.
HOME_CITIES: tuple[City, ...] = (
    _c("Berlin", "Berlin", "DE", 52.5200, 13.4050, 2, "91.64"),
    _c("Munich", "Bavaria", "DE", 48.1351, 11.5820, 2, "94.134"),
    _c("London", "England", "GB", 51.5074, -0.1278, 1, "81.2"),
    _c("Dublin", "Leinster", "IE", 53.3498, -6.2603, 1, "86.43"),
    _c("Amsterdam", "North Holland", "NL", 52.3676, 4.9041, 2, "145.53"),
    _c("Lisbon", "Lisboa", "PT", 38.7223, -9.1393, 1, "85.246"),
    _c("Warsaw", "Mazowieckie", "PL", 52.2297, 21.0122, 2, "83.26"),
    _c("New York", "New York", "US", 40.7128, -74.0060, -4, "66.108"),
    _c("San Francisco", "California", "US", 37.7749, -122.4194, -7, "64.125"),
    _c("Austin", "Texas", "US", 30.2672, -97.7431, -5, "70.112"),
    _c("Toronto", "Ontario", "CA", 43.6532, -79.3832, -4, "99.230"),
    _c("Bengaluru", "Karnataka", "IN", 12.9716, 77.5946, 5.5, "49.207"),
)
HOME_WEIGHTS: tuple[int, ...] = (22, 8, 14, 5, 7, 5, 6, 10, 8, 5, 5, 5)

# Places people travel to for work (all reachable within a travel day from any office).
TRAVEL_CITIES: tuple[City, ...] = (
    _c("Paris", "Ile-de-France", "FR", 48.8566, 2.3522, 2, "90.84"),
    _c("Barcelona", "Catalonia", "ES", 41.3874, 2.1686, 2, "88.12"),
    _c("Stockholm", "Stockholm County", "SE", 59.3293, 18.0686, 2, "78.72"),
    _c("Chicago", "Illinois", "US", 41.8781, -87.6298, -5, "73.44"),
    _c("Seattle", "Washington", "US", 47.6062, -122.3321, -7, "67.183"),
    _c("Zurich", "Zurich", "CH", 47.3769, 8.5417, 2, "178.197"),
)

# Places that only incidents (and partner guests) use, so "new country" really is new.
BUCHAREST = _c("Bucharest", "Bucharest", "RO", 44.4268, 26.1025, 3, "86.120")
SINGAPORE = _c("Singapore", "Singapore", "SG", 1.3521, 103.8198, 8, "118.200")
ASHBURN = _c("Ashburn", "Virginia", "US", 39.0438, -77.4874, -4, "52.4")
ISTANBUL = _c("Istanbul", "Istanbul", "TR", 41.0082, 28.9784, 3, "85.105")
PARTNER_CITIES: tuple[City, ...] = (
    _c("Pune", "Maharashtra", "IN", 18.5204, 73.8567, 5.5, "117.214"),
    _c("Krakow", "Lesser Poland", "PL", 50.0647, 19.9450, 2, "89.64"),
)
HELSINKI_VPS = _c("Helsinki", "Uusimaa", "FI", 60.1699, 24.9384, 3, "95.216")  # a rented VPS network
COPENHAGEN = _c("Copenhagen", "Capital Region", "DK", 55.6761, 12.5683, 2, "87.49")  # a conference city
CI_RUNNER_CITY = _c("Boydton", "Virginia", "US", 36.6676, -78.3875, -4, "20.81")
DATACENTER_CITY = _c("Frankfurt am Main", "Hesse", "DE", 50.1109, 8.6821, 2, "185.12")

GIVEN_NAMES: tuple[str, ...] = (
    "Anna",
    "Ben",
    "Carla",
    "David",
    "Elif",
    "Farid",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kira",
    "Lars",
    "Maria",
    "Nils",
    "Olga",
    "Pavel",
    "Quinn",
    "Rosa",
    "Samir",
    "Tara",
    "Uwe",
    "Vera",
    "Wei",
    "Xenia",
    "Yusuf",
    "Zoe",
    "Aisha",
    "Bruno",
    "Chloe",
    "Diego",
    "Emma",
    "Felix",
    "Grace",
    "Hannah",
    "Ivan",
    "Julia",
    "Kenji",
    "Leila",
    "Marco",
    "Nora",
    "Omar",
    "Priya",
    "Rahul",
    "Sofia",
    "Tomas",
    "Amara",
    "Noah",
    "Lena",
    "Mateo",
    "Sara",
    "Arjun",
    "Mei",
    "Liam",
    "Eva",
    "Jose",
    "Ruth",
    "Tobias",
    "Ana",
    "Kofi",
    "Ingrid",
)
SURNAMES: tuple[str, ...] = (
    "Schmidt",
    "Novak",
    "Garcia",
    "Kowalski",
    "Okafor",
    "Nguyen",
    "Muller",
    "Rossi",
    "Silva",
    "Jensen",
    "Yilmaz",
    "Sato",
    "Patel",
    "Brown",
    "Dubois",
    "Ivanova",
    "Kim",
    "Larsen",
    "Moreau",
    "Fischer",
    "Costa",
    "Haddad",
    "Weber",
    "Lopez",
    "Murphy",
    "Chen",
    "Berg",
    "Kaur",
    "Walsh",
    "Petrov",
    "Santos",
    "Wagner",
    "Ahmed",
    "Romano",
    "Nakamura",
    "Hansen",
    "Singh",
    "Keller",
    "Mensah",
    "Lindqvist",
    "Fernandez",
    "Baker",
    "Horvat",
    "Meyer",
    "Osei",
    "Park",
    "Reyes",
    "Stone",
    "Tanaka",
    "Vogel",
)

# Engineering teams: (slug, department, GitLab subgroup, repo name prefix).
DEV_TEAMS: tuple[tuple[str, str, str, str], ...] = (
    ("payments", "Engineering", "core", "payments"),
    ("identity", "Engineering", "core", "auth"),
    ("api", "Engineering", "core", "api"),
    ("web", "Engineering", "web", "web"),
    ("mobile", "Engineering", "web", "mobile"),
    ("growth", "Engineering", "web", "growth"),
    ("search", "Engineering", "data", "search"),
    ("data-platform", "Data", "data", "data"),
    ("ml", "Data", "data", "ml"),
    ("infra", "Platform", "infra", "infra"),
    ("sre", "Platform", "infra", "ops"),
    ("devex", "Platform", "infra", "devex"),
    ("security", "Security", "infra", "crypto"),
)
TIER1_PREFIXES: tuple[str, ...] = ("payments", "auth", "crypto")
REPO_COMPONENTS: tuple[str, ...] = (
    "api",
    "service",
    "worker",
    "gateway",
    "ledger",
    "ui",
    "sdk",
    "config",
    "cli",
    "etl",
    "models",
    "jobs",
    "proxy",
    "scheduler",
    "events",
    "docs",
    "terraform",
    "charts",
    "tests",
    "lib",
    "core",
    "admin",
    "exporter",
    "schemas",
    "pipeline",
    "bench",
    "tools",
    "infra",
    "client",
    "agent",
)
DEV_TITLES: dict[str, tuple[str, ...]] = {
    "Engineering": ("Software Engineer", "Senior Software Engineer", "Staff Engineer", "Engineering Manager"),
    "Platform": ("SRE", "Platform Engineer", "Senior SRE", "DevOps Engineer"),
    "Security": ("Security Engineer", "Application Security Engineer"),
    "Data": ("Data Engineer", "Machine Learning Engineer", "Senior Data Engineer"),
}
NON_DEV_DEPARTMENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Finance", ("Financial Analyst", "Accountant", "Finance Manager", "Controller")),
    ("Sales", ("Account Executive", "Solutions Consultant", "Sales Manager")),
    ("Marketing", ("Marketing Manager", "Content Strategist", "Product Marketing Manager")),
    ("HR", ("HR Business Partner", "Recruiter", "People Operations Specialist")),
    ("Legal", ("Legal Counsel", "Paralegal", "Compliance Officer")),
)
# Non-developer repos (owner team, name, visibility): the ones non-developers download now and then.
NON_DEV_REPOS: tuple[tuple[str, str, str], ...] = (
    ("hr", "handbook", "internal"),
    ("sales", "sales-enablement", "private"),
    ("finance", "finance-models", "private"),
)

# Entra enterprise applications: display name -> appId (well-known first-party ids where they exist).
APPS: dict[str, str] = {
    "Office 365": "4765445b-32c6-49b0-83e6-1d93765276ca",
    "Microsoft Teams": "1fec8e78-bce4-4aaf-ab1b-5451cc387264",
    "GitHub Enterprise Cloud": "6e9c1f2a-8d4b-4d4e-9a51-2f0c7b3e5a11",
    "GitLab": "b2a7c4d0-3e19-4f6a-8c2d-91e5f0a6b7c3",
}

# Client software: (operatingSystem, browser, browser user agent).
DEVICES: tuple[tuple[str, str, str], ...] = (
    (
        "MacOs",
        "Chrome 128.0.0",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/128.0.0.0 Safari/537.36",
    ),
    (
        "Windows10",
        "Edge 128.0.2739",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/128.0.0.0 Safari/537.36 Edg/128.0.2739.42",
    ),
    (
        "Linux",
        "Firefox 130.0",
        "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0",
    ),
    (
        "MacOs",
        "Safari 17.6",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.6 Safari/605.1.15",
    ),
)
GIT_AGENTS: tuple[str, ...] = (
    "git/2.46.0",
    "git/2.39.5 (Apple Git-154)",
    "git/2.45.2.windows.1",
    "JGit/6.10.0.202406032230-r",
    "GitHubDesktop/3.4.3 (Macintosh)",
)
API_AGENTS: tuple[str, ...] = (
    "GitHub CLI 2.55.0",
    "GitHubPullRequests/0.96.0 VSCode/1.93.0",
    "curl/8.5.0",
    "python-requests/2.32.3",
)
GITLAB_API_AGENTS: tuple[str, ...] = ("glab/1.46.1", "python-gitlab/4.11.1", "curl/8.5.0", "GitLab Workflow/5.8.0")

# OAuth applications developers normally use with GitHub: name -> oauth_application_id.
KNOWN_OAUTH_APPS: dict[str, int] = {
    "Git Credential Manager": 1402851,
    "GitHub CLI": 178632,
    "Visual Studio Code": 962204,
}
