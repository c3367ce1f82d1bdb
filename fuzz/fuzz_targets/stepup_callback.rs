//! The step-up's callback query and return_to: never a panic, bounded
//! values, an issuer's error never brings its own text into the code or
//! markup into the page, and an accepted return_to is always a path of
//! this app.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reauth::stepup::{Callback, Outcome, StepUpError, check_return_to, html_escape};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(cb) = Callback::parse(&text, 8192) {
        assert!(!cb.state.is_empty() && cb.state.len() <= 256);
        match &cb.outcome {
            Outcome::Code(code) => assert!(!code.is_empty() && code.len() <= 2048),
            Outcome::Error { kind, description } => {
                // A fixed vocabulary: lowercase words and underscores.
                let code = kind.code();
                assert!(
                    code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                    "{code}"
                );
                let page = StepUpError::Authorization {
                    kind: kind.clone(),
                    description: description.clone(),
                }
                .to_html();
                let fixed = StepUpError::Store(String::new()).to_html();
                for c in ['<', '>', '"', '\''] {
                    assert_eq!(page.matches(c).count(), fixed.matches(c).count(), "{page}");
                }
            }
        }
    }
    let escaped = html_escape(&text);
    assert!(!escaped.contains(['<', '>', '"', '\'']), "{escaped}");
    if let Ok(path) = check_return_to(&text) {
        let base = url::Url::parse("https://app.example/").unwrap();
        let joined = base.join(path).unwrap();
        assert_eq!(joined.origin(), base.origin(), "{path:?}");
        assert!(!joined.path().starts_with("//"), "{path:?}");
    }
});
