//! The step-up's callback query and return_to: never a panic, bounded
//! values, and an accepted return_to is always a path of this app.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reauth::stepup::{Callback, Outcome, check_return_to};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(cb) = Callback::parse(&text, 8192) {
        assert!(!cb.state.is_empty() && cb.state.len() <= 256);
        if let Outcome::Code(code) = &cb.outcome {
            assert!(!code.is_empty() && code.len() <= 2048);
        }
    }
    if let Ok(path) = check_return_to(&text) {
        let base = url::Url::parse("https://app.example/").unwrap();
        let joined = base.join(path).unwrap();
        assert_eq!(joined.origin(), base.origin(), "{path:?}");
        assert!(!joined.path().starts_with("//"), "{path:?}");
    }
});
