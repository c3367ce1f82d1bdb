//! The page a browser gets when a step-up fails: fixed markup, every value
//! escaped. Pure: adapters only send it.

/// `s` with the five characters that matter in HTML text and quoted
/// attribute values (`&`, `<`, `>`, `"`, `'`) replaced by character
/// references (OWASP XSS prevention, rule 1), so no value can open a tag,
/// close an attribute or start an entity.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The failure page: `code` and `message`, both escaped (the code comes
/// from a fixed vocabulary, and is escaped all the same).
pub(crate) fn error_page(code: &str, message: &str) -> String {
    format!(
        "<!doctype html><title>Sign-in failed</title><h1>Sign-in failed</h1>\
         <p><code>{}</code>: {}</p><p><a href=\"/\">Back</a></p>",
        html_escape(code),
        html_escape(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Undoes [`html_escape`] (for the round-trip property only).
    fn unescape(s: &str) -> String {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    }

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            html_escape(r#"<script>alert("1")</script> & 'x'"#),
            "&lt;script&gt;alert(&quot;1&quot;)&lt;/script&gt; &amp; &#39;x&#39;"
        );
        let page = error_page("<b>", "<script>alert(1)</script>");
        assert!(!page.contains("<script") && !page.contains("<b>"), "{page}");
    }

    proptest! {
        #[test]
        fn escaped_text_holds_no_markup_and_round_trips(s in "\\PC*|[<>&\"'a-z;#]*") {
            let e = html_escape(&s);
            prop_assert!(!e.contains(['<', '>', '"', '\'']));
            // Every `&` starts one of our references.
            for (i, _) in e.match_indices('&') {
                let rest = &e[i..];
                prop_assert!(
                    ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"].iter().any(|r| rest.starts_with(r)),
                    "{}", e
                );
            }
            prop_assert_eq!(unescape(&e), s);
        }

        #[test]
        fn the_page_carries_no_markup_from_its_values(code in "\\PC{0,64}", message in "\\PC{0,300}") {
            let page = error_page(&code, &message);
            let fixed = error_page("", "");
            // Exactly the fixed page's tags: no value added one.
            prop_assert_eq!(page.matches('<').count(), fixed.matches('<').count());
            prop_assert_eq!(page.matches('"').count(), fixed.matches('"').count());
        }
    }
}
