//! Decision calls as they arrive over HTTP or from JavaScript: never a panic, and an answer that says
//! "allowed" has no reasons.
#![no_main]
use libfuzzer_sys::fuzz_target;
use renche::{BindingCall, Policy, RouteCall, Rules, UnbindCall};

fuzz_target!(|data: &[u8]| {
    let rules = Rules::new(Policy::article_rules());
    if let Ok(call) = serde_json::from_slice::<BindingCall>(data) {
        let a = rules.check_binding(&call);
        assert_eq!(a.allowed, a.reasons.is_empty());
    }
    if let Ok(call) = serde_json::from_slice::<RouteCall>(data) {
        let a = rules.route_violations(&call);
        assert_eq!(a.routes.len(), call.violations.len());
    }
    if let Ok(call) = serde_json::from_slice::<UnbindCall>(data) {
        let a = rules.check_unbind(&call);
        assert_eq!(a.allowed, a.reasons.is_empty());
    }
});
