//! The policy documents the server decides with: `default.json` and `cities/<code>.json` from the policy
//! directory, each city merged over the default.

use renche::{Policy, Rules};
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

pub struct Policies {
    default: CityPolicy,
    cities: BTreeMap<String, CityPolicy>,
}

impl Policies {
    /// Loads `dir/default.json` (or the built-in default when it is missing) and every `dir/cities/*.json`.
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
        let mut cities = BTreeMap::new();
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
                let code = policy.city.code.clone();
                cities.insert(code, CityPolicy::new(policy)?);
            }
        }
        Ok(Policies {
            default: CityPolicy::new(default)?,
            cities,
        })
    }

    pub fn default_policy(&self) -> &CityPolicy {
        &self.default
    }
    pub fn city(&self, code: &str) -> Option<&CityPolicy> {
        self.cities.get(code)
    }
    /// The policy that decides for a vehicle registered in `city`.
    pub fn for_city(&self, code: &str) -> &CityPolicy {
        self.cities.get(code).unwrap_or(&self.default)
    }
    /// The policy for a plate as typed, before its record is looked up: the city that lists the plate's
    /// prefix (`粤S`), else the default. It depends only on the plate, so it tells nothing about records.
    pub fn for_plate(&self, plate: &str) -> &CityPolicy {
        let prefix: String = plate.chars().take(2).collect();
        self.cities
            .values()
            .find(|c| c.rules.policy().plate_prefixes.contains(&prefix))
            .unwrap_or(&self.default)
    }
    /// The one SMS policy of every challenge, so that no answer differs by the vehicle's city.
    pub fn sms(&self) -> &renche::policy::SmsPolicy {
        &self.default.rules.policy().sms
    }
    pub fn cities(&self) -> impl Iterator<Item = &CityPolicy> {
        self.cities.values()
    }
}
