"""The fixed tables the seed draws from: job types, host names, store types with their paths and properties,
orchestrator versions, and who acknowledges history."""

from orchjobs.domain.jobs import AgentPlatform

BUILT_IN_JOB_TYPES: dict[str, str] = {
    "Inventory": "Reads the certificates in a certificate store.",
    "Management": "Adds or removes a certificate in a certificate store.",
    "Discovery": "Searches an orchestrator's file system for certificate stores.",
    "Reenrollment": "Generates a key on the orchestrator and enrolls a new certificate.",
    "FetchLogs": "Uploads the orchestrator's log files.",
}

# name → (description, fields as (name, type, default, required)); type 1 String, 2 Int, 4 Bool.
CUSTOM_JOB_TYPES: dict[str, tuple[str, tuple[tuple[str, int, str | None, bool], ...]]] = {
    "RestartWebService": (
        "Restarts the web server after a certificate change.",
        (("ServiceName", 1, "W3SVC", True), ("DelaySeconds", 2, "30", False)),
    ),
    "HsmKeyAudit": (
        "Lists the keys of an HSM partition and reports weak or expiring ones.",
        (("Partition", 1, None, True), ("IncludeExpired", 4, "false", False)),
    ),
}

STORE_TYPES_BY_OS: dict[str, tuple[str, ...]] = {
    "windows": ("IIS", "WinCert", "PKCS12"),
    "linux": ("PEM", "JKS", "PKCS12", "F5"),
}
APPS = ("app", "web", "api", "portal", "billing", "gateway", "auth", "intranet", "crm", "payments")
STORE_PATHS: dict[tuple[str, str], tuple[str, ...]] = {
    ("linux", "PEM"): (
        "/etc/ssl/certs/{app}.pem",
        "/etc/pki/tls/certs/{app}.crt",
        "/opt/{app}/conf/tls/server.pem",
        "/etc/nginx/ssl/{app}.pem",
    ),
    ("linux", "JKS"): (
        "/opt/{app}/conf/keystore.jks",
        "/opt/tomcat/conf/{app}.jks",
        "/usr/lib/jvm/java-17-openjdk/lib/security/cacerts",
    ),
    ("linux", "PKCS12"): ("/opt/{app}/certs/{app}.p12",),
    ("linux", "F5"): ("/Common", "/{app}"),
    ("windows", "IIS"): ("My", "WebHosting"),
    ("windows", "WinCert"): ("My", "Root", "CA"),
    ("windows", "PKCS12"): (
        "C:\\ProgramData\\certs\\{app}.pfx",
        "D:\\Apps\\{app}\\certs\\{app}.pfx",
        "C:\\inetpub\\certs\\{app}.pfx",
    ),
}
STORE_PROPERTIES: dict[str, dict[str, str]] = {
    "PEM": {"IsTrustStore": "false", "IsRSAPrivateKey": "false", "SeparatePrivateKeyFilePath": ""},
    "F5": {"PrimaryNode": "f5-ltm-01", "ServerUseSsl": "true"},
    "IIS": {"WinRm Protocol": "https", "WinRm Port": "5986", "spnwithport": "false"},
}
# Store types whose capability includes discovery and on-device key generation.
DISCOVERABLE_STORE_TYPES = frozenset({"PEM", "JKS", "PKCS12"})

ENVIRONMENTS = ("prd", "prd", "stg", "dev", "qa")
REGIONS = ("eu", "us", "ap", "uk")
HOST_ROLES = {
    "windows": ("web", "iis", "app", "adfs", "exch"),
    "linux": ("web", "api", "nginx", "tomcat", "kafka", "k8s-node"),
}
SHORT_HOST_PREFIXES = {
    "windows": ("iis-app", "iis-web", "win-ca", "sql-rpt"),
    "linux": ("uo-linux", "uo-rhel", "lb-edge"),
}
VERSIONS_BY_PLATFORM: dict[int, tuple[tuple[str, float], ...]] = {
    AgentPlatform.DOTNET: (
        ("10.4.1.0", 0.35),
        ("10.5.0.0", 0.25),
        ("24.4.0.0", 0.15),
        ("10.1.1.0", 0.15),
        ("11.5.0.0", 0.10),
    ),
    AgentPlatform.NATIVE: (("8.7.2.0", 0.7), ("9.1.0.0", 0.3)),
    AgentPlatform.BASH: (("1.2.0.0", 1.0),),
}

ACKNOWLEDGERS = ("CORP\\pki-admin", "CORP\\jsmith", "CORP\\mgarcia", "CORP\\svc-noc", "admin")
ACKNOWLEDGE_NOTES = (
    None,
    None,
    None,
    "Known issue, tracked in INC0012345",
    "Host decommissioned",
    "Retried manually",
    "Expected during maintenance window",
)
