//! Data location: where each store and endpoint is (`SALDO_DATA_LOCATION=identity:FI,
//! ledger:FI,processor:US` or the same in a file named by `SALDO_DATA_LOCATION_FILE`), the data
//! map that follows (what is stored where, what flows to whom: the basis of the record of
//! processing), and the rule `saldo serve` enforces: every store of personal data in the EU/EEA,
//! and no flow of identified personal data to an endpoint outside it.
use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// EU member states and the other EEA states (Iceland, Liechtenstein, Norway). ISO 3166 alpha-2
/// (Greece is GR; EL is accepted too).
const EEA: [&str; 31] = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO", "EL",
];

pub fn in_eea(country: &str) -> bool {
    EEA.contains(&country)
}

/// What leaves Saldo along a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Data {
    /// Names, numbers, IBANs: identifies the person by itself.
    Identified,
    /// Pseudonymous ids with amounts and times: personal data for the controller, not
    /// attributable by the recipient without keys held in the EU (EDPB Rec. 01/2020 use case 2).
    Pseudonymised,
    /// Nothing about persons.
    None,
}

#[derive(Debug, Clone, Serialize)]
pub struct Store {
    pub name: &'static str,
    pub holds: &'static str,
    pub personal_data: bool,
    pub country: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Flow {
    pub from: &'static str,
    pub to: &'static str,
    pub what: &'static str,
    pub data: Data,
    pub country: Option<String>,
    pub safeguard: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct DataMap {
    pub stores: Vec<Store>,
    pub flows: Vec<Flow>,
    /// Why the configuration is refused; empty when it is acceptable.
    pub violations: Vec<String>,
    /// Places that are not declared (a warning, not a refusal).
    pub undeclared: Vec<String>,
}

/// The declared countries, by store or endpoint name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Locations(pub BTreeMap<String, String>);

impl Locations {
    /// `name:CC` pairs separated by commas or new lines (`#` starts a comment).
    pub fn parse(text: &str) -> anyhow::Result<Locations> {
        let mut map = BTreeMap::new();
        for item in text
            .lines()
            .map(|line| line.split('#').next().unwrap_or(""))
            .flat_map(|line| line.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let (name, country) = item
                .split_once(':')
                .or_else(|| item.split_once('='))
                .ok_or_else(|| anyhow::anyhow!("SALDO_DATA_LOCATION: expected name:CC"))?;
            let country = country.trim().to_ascii_uppercase();
            if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
                anyhow::bail!("SALDO_DATA_LOCATION: {name}: a country is ISO 3166 alpha-2");
            }
            if !KNOWN.contains(&name.trim()) {
                anyhow::bail!(
                    "SALDO_DATA_LOCATION: unknown place {}; known: {}",
                    name.trim(),
                    KNOWN.join(", ")
                );
            }
            map.insert(name.trim().to_owned(), country);
        }
        Ok(Locations(map))
    }

    fn of(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

/// The places a configuration may name.
pub const KNOWN: [&str; 8] = [
    "identity",
    "ledger",
    "access_log",
    "keys",
    "backups",
    "processor",
    "bank",
    "staff",
];

/// The data map for the declared locations. The database holds the identity, ledger and access
/// log stores together; they are declared separately so that moving one is a visible decision.
pub fn data_map(locations: &Locations) -> DataMap {
    let stores = vec![
        Store {
            name: "identity",
            holds: "prisoners' and depositors' identity (sealed per person: AES-256-GCM)",
            personal_data: true,
            country: locations.of("identity"),
        },
        Store {
            name: "ledger",
            holds: "accounts, entries, holds, card authorizations, egress register (pseudonymous ids)",
            personal_data: true,
            country: locations.of("ledger"),
        },
        Store {
            name: "access_log",
            holds: "who consulted whose data, when and why (pseudonymous ids)",
            personal_data: true,
            country: locations
                .of("access_log")
                .or_else(|| locations.of("ledger")),
        },
        Store {
            name: "keys",
            holds: "master keys, lookup key, pseudonym keys (re-identification secrets)",
            personal_data: true,
            country: locations.of("keys"),
        },
        Store {
            name: "backups",
            holds: "copies of the database (sealed identity, pseudonymous rest)",
            personal_data: true,
            country: locations.of("backups"),
        },
    ];
    let flows = vec![
        Flow {
            from: "identity",
            to: "staff",
            what: "identity fields per request, each access logged",
            data: Data::Identified,
            country: locations.of("staff"),
            safeguard: "roles per prison, purpose per request, access log",
        },
        Flow {
            from: "ledger",
            to: "processor",
            what: "external_ref (HMAC pseudonym), card program, amounts, decisions, spend controls",
            data: Data::Pseudonymised,
            country: locations.of("processor"),
            safeguard: "egress guard refuses personal fields and values; egress register; keys stay in the EU",
        },
        Flow {
            from: "ledger",
            to: "bank",
            what: "payouts to the person's IBAN at release",
            data: Data::Identified,
            country: locations.of("bank"),
            safeguard: "EU payment system (SEPA)",
        },
    ];
    let mut violations = Vec::new();
    let mut undeclared = Vec::new();
    for store in &stores {
        match &store.country {
            Some(country) if store.personal_data && !in_eea(country) => violations.push(format!(
                "store {} holds personal data but is declared in {country}, outside the EU/EEA",
                store.name
            )),
            Some(_) => {}
            None => undeclared.push(store.name.to_owned()),
        }
    }
    for flow in &flows {
        match &flow.country {
            Some(country) if flow.data == Data::Identified && !in_eea(country) => {
                violations.push(format!(
                    "flow {} -> {} sends identified personal data to {country}, outside the EU/EEA",
                    flow.from, flow.to
                ))
            }
            Some(_) => {}
            None => undeclared.push(flow.to.to_owned()),
        }
    }
    DataMap {
        stores,
        flows,
        violations,
        undeclared,
    }
}

impl fmt::Display for DataMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = |c: &Option<String>| match c {
            Some(c) if in_eea(c) => format!("{c} (EU/EEA)"),
            Some(c) => format!("{c} (third country)"),
            None => "undeclared".to_owned(),
        };
        writeln!(f, "STORES")?;
        for s in &self.stores {
            writeln!(f, "  {:<11} {:<22} {}", s.name, place(&s.country), s.holds)?;
        }
        writeln!(f, "FLOWS")?;
        for flow in &self.flows {
            writeln!(
                f,
                "  {} -> {:<10} {:<22} {:?}: {}\n  {:<27} safeguard: {}",
                flow.from,
                flow.to,
                place(&flow.country),
                flow.data,
                flow.what,
                "",
                flow.safeguard
            )?;
        }
        if !self.undeclared.is_empty() {
            writeln!(f, "UNDECLARED: {}", self.undeclared.join(", "))?;
        }
        for violation in &self.violations {
            writeln!(f, "REFUSED: {violation}")?;
        }
        write!(
            f,
            "{}",
            if self.violations.is_empty() {
                "OK"
            } else {
                "NOT ALLOWED"
            }
        )
    }
}

/// What `saldo serve` checks before it starts: refuses on any violation.
pub fn check_before_serving(locations: &Locations) -> anyhow::Result<DataMap> {
    let map = data_map(locations);
    if !map.violations.is_empty() {
        anyhow::bail!("data location refused: {}", map.violations.join("; "));
    }
    if !map.undeclared.is_empty() {
        tracing::warn!(
            undeclared = %map.undeclared.join(","),
            "SALDO_DATA_LOCATION does not declare every store and endpoint"
        );
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_personal_data_store_outside_the_eea_is_refused() {
        let locations = Locations::parse("identity:US,ledger:FI,processor:US").unwrap();
        let error = check_before_serving(&locations).unwrap_err().to_string();
        assert!(error.contains("store identity"), "{error}");
    }

    #[test]
    fn pseudonymised_flows_may_leave_but_identified_ones_may_not() {
        let ok = Locations::parse(
            "identity:FI,ledger:FI,access_log:FI,keys:FI,backups:SE,processor:US,bank:FI,staff:FI",
        )
        .unwrap();
        let map = check_before_serving(&ok).unwrap();
        assert!(map.violations.is_empty() && map.undeclared.is_empty());
        let bad = Locations::parse("identity:FI,ledger:FI,bank:US").unwrap();
        assert!(check_before_serving(&bad).is_err());
    }

    #[test]
    fn unknown_places_and_bad_countries_are_refused() {
        assert!(Locations::parse("crm:FI").is_err());
        assert!(Locations::parse("identity:Finland").is_err());
        assert_eq!(
            Locations::parse("# comment\nidentity: fi\n")
                .unwrap()
                .of("identity"),
            Some("FI".into())
        );
    }
}
