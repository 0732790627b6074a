//! The policy documents the server decides with: `default.json` and `cities/<code>.json` from the policy
//! directory, each city merged over the default.

use renche::{Policy, PolicySchedule, Rules, Timestamp};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// One city's (or the default) policy: the rules built from it and the JSON served to browsers.
pub struct CityPolicy {
    pub rules: Rules,
    pub json: Arc<String>,
    pub etag: String,
}

impl CityPolicy {
    fn new(policy: Policy) -> Result<CityPolicy, String> {
        let json = serde_json::to_string(&policy).map_err(|e| e.to_string())?;
        let etag = format!("\"{}\"", policy.version.replace('"', ""));
        Ok(CityPolicy {
            rules: Rules::new(policy),
            json: Arc::new(json),
            etag,
        })
    }
    pub fn version(&self) -> &str {
        &self.rules.policy().version
    }
}

impl AsRef<Policy> for CityPolicy {
    fn as_ref(&self) -> &Policy {
        self.rules.policy()
    }
}

pub struct Policies {
    default: CityPolicy,
    /// Each city's versions, from its instant on (`renche::PolicySchedule` decides which is in force).
    cities: BTreeMap<String, PolicySchedule<CityPolicy>>,
}

impl Policies {
    /// Loads `dir/default.json` (or the built-in default when it is missing) and every `dir/cities/*.json`:
    /// a city may have several files, one per version, the later ones with their `effectiveFrom`.
    pub fn load(dir: &Path) -> Result<Policies, String> {
        let default_path = dir.join("default.json");
        let default = if default_path.exists() {
            let text = std::fs::read_to_string(&default_path)
                .map_err(|e| format!("{}: {e}", default_path.display()))?;
            Policy::parse(&text).map_err(|e| format!("{}: {e}", default_path.display()))?
        } else {
            tracing::warn!(dir = %dir.display(), "no default.json in the policy directory; using the built-in default");
            Policy::default_policy()
        };
        let mut versions: BTreeMap<String, Vec<Policy>> = BTreeMap::new();
        let cities_dir = dir.join("cities");
        if let Ok(entries) = std::fs::read_dir(&cities_dir) {
            let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            paths.sort();
            for path in paths
                .into_iter()
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
            {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                let policy = Policy::parse_with_base(&text, &default)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                versions
                    .entry(policy.city.code.clone())
                    .or_default()
                    .push(policy);
            }
        }
        let mut cities = BTreeMap::new();
        for (code, list) in versions {
            let built = list
                .into_iter()
                .map(CityPolicy::new)
                .collect::<Result<Vec<_>, _>>()?;
            let schedule = PolicySchedule::new(built)
                .map_err(|e| format!("{}: city {code}: {e}", cities_dir.display()))?;
            cities.insert(code, schedule);
        }
        Ok(Policies {
            default: CityPolicy::new(default)?,
            cities,
        })
    }

    pub fn default_policy(&self) -> &CityPolicy {
        &self.default
    }
    /// The city's version in force at `now`, when the city has a policy of its own.
    pub fn city(&self, code: &str, now: Timestamp) -> Option<&CityPolicy> {
        self.cities.get(code).map(|c| c.in_force(now))
    }
    /// The city's version that takes over after `now`, if one is scheduled.
    pub fn next_for_city(&self, code: &str, now: Timestamp) -> Option<&CityPolicy> {
        self.cities.get(code)?.next_after(now)
    }
    /// The policy that decides at `now` for a vehicle registered in `city`.
    pub fn for_city(&self, code: &str, now: Timestamp) -> &CityPolicy {
        self.city(code, now).unwrap_or(&self.default)
    }
    /// The policy at `now` for a plate as typed, before its record is looked up: the city that lists the
    /// plate's prefix (`粤S`), else the default. It depends only on the plate, so it tells nothing about
    /// records.
    pub fn for_plate(&self, plate: &str, now: Timestamp) -> &CityPolicy {
        let prefix: String = plate.chars().take(2).collect();
        self.cities(now)
            .find(|c| c.rules.policy().plate_prefixes.contains(&prefix))
            .unwrap_or(&self.default)
    }
    /// The one SMS policy of every challenge, so that no answer differs by the vehicle's city.
    pub fn sms(&self) -> &renche::policy::SmsPolicy {
        &self.default.rules.policy().sms
    }
    /// Each city's version in force at `now`.
    pub fn cities(&self, now: Timestamp) -> impl Iterator<Item = &CityPolicy> {
        self.cities.values().map(move |c| c.in_force(now))
    }
}
