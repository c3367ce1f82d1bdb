//! The original request's path, as every server in front of or behind the
//! gate might read it, and the route patterns it is matched against.
//!
//! A path is matched as segments: percent-decoded once, empty segments
//! (`//`, a trailing `/`) and `.` dropped, `..` removing the segment before
//! it, ASCII letters lower-cased, the query and fragment ignored. Where
//! servers disagree on a reading (an encoded `/` that splits a segment or
//! not, `\` as a separator, `;path-parameters` stripped, a second decoding,
//! `%2e%2e` as `..`) the gate computes every reading and, when they pick
//! different routes, denies the request ([`super::Refusal::Ambiguous`]).
//! What no reading can make safe is refused outright ([`PathError`]).

mod decode;
mod error;
mod pattern;
mod readings;

pub use error::{PathError, PathLimits};
pub use pattern::PathPattern;
pub(crate) use readings::{path_part, plain_path, unplain_readings};
pub use readings::{plain, readings};

#[cfg(test)]
mod tests {
    use super::*;

    fn one(uri: &str) -> Vec<String> {
        let r = readings(uri, PathLimits::default()).unwrap();
        assert_eq!(r.len(), 1, "{uri}: {r:?}");
        r.into_iter().next().unwrap()
    }

    fn segs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ordinary_paths_have_one_reading() {
        assert_eq!(one("/Account//Delete/?x=1#f"), segs(&["account", "delete"]));
        assert_eq!(one("/a/./b/../c"), segs(&["a", "c"]));
        assert_eq!(one("/%61dmin"), segs(&["admin"]));
        assert_eq!(one("/"), Vec::<String>::new());
    }

    #[test]
    fn encoded_slash_never_splits_in_the_base_reading() {
        let r = readings("/files/a%2Fb", PathLimits::default()).unwrap();
        assert_eq!(r[0], segs(&["files", "a/b"]));
        assert!(r.contains(&segs(&["files", "a", "b"])));
    }

    #[test]
    fn tricks_have_all_their_readings() {
        let r = readings("/admin;x/delete", PathLimits::default()).unwrap();
        assert!(r.contains(&segs(&["admin", "delete"])), "{r:?}");
        let r = readings("/public/%2e%2e/admin", PathLimits::default()).unwrap();
        assert!(r.contains(&segs(&["admin"])) && r.contains(&segs(&["public", "..", "admin"])));
        let r = readings("/public/%252e%252e/admin", PathLimits::default()).unwrap();
        assert!(r.contains(&segs(&["admin"])), "{r:?}");
        let r = readings("/public\\..\\admin", PathLimits::default()).unwrap();
        assert!(r.contains(&segs(&["admin"])), "{r:?}");
    }

    #[test]
    fn what_no_reading_makes_safe_is_refused() {
        let l = PathLimits::default();
        assert_eq!(readings("/a/../..", l), Err(PathError::AboveRoot));
        assert_eq!(readings("/a%zz", l), Err(PathError::BadPercentEncoding));
        assert_eq!(readings("/a%00", l), Err(PathError::BadDecodedByte));
        assert_eq!(readings("/a%ff", l), Err(PathError::BadDecodedByte));
        assert_eq!(readings("http://x/a", l), Err(PathError::NotOriginForm));
        assert_eq!(readings("/a b", l), Err(PathError::InvalidByte));
        for uri in [
            "/admin%3F/x",
            "/admin%3f",
            "/a%23b",
            "/a%253Fb",
            "/a/%2523/b",
        ] {
            assert_eq!(readings(uri, l), Err(PathError::EncodedDelimiter), "{uri}");
        }
        assert_eq!(
            readings(&"/a".repeat(200), l),
            Err(PathError::TooManySegments)
        );
        assert_eq!(readings(&"/a".repeat(5000), l), Err(PathError::TooLong));
    }

    #[test]
    fn patterns() {
        let p = PathPattern::parse("/users/*/delete").unwrap();
        assert!(p.matches(&segs(&["users", "7", "delete"])));
        assert!(!p.matches(&segs(&["users", "delete"])));
        let all = PathPattern::parse("/admin/**").unwrap();
        assert!(all.matches(&segs(&["admin"])) && all.matches(&segs(&["admin", "x", "y"])));
        assert!(!all.covers(&p) && all.covers(&PathPattern::parse("/admin/*").unwrap()));
        assert!(PathPattern::parse("/**").unwrap().covers(&all));
        assert!(!p.covers(&PathPattern::parse("/users/**").unwrap()));
        for bad in ["a", "/a/", "/a//b", "/a/**/b", "/a*", "/a%20", "/./a"] {
            assert!(PathPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
