//! `DURATION`: plain seconds (`300`) or with a unit (`90s`, `5m`, `2h`, `30d`).

use std::time::Duration;

/// Parses a `DURATION`.
pub fn parse(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (e.g. 300, 90s, 5m, 2h, 30d)"))?;
    let mult = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("unknown unit {unit:?} in {s:?} (use s, m, h or d)")),
    };
    n.checked_mul(mult)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{s:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn units() {
        assert_eq!(parse("300").unwrap().as_secs(), 300);
        assert_eq!(parse("90s").unwrap().as_secs(), 90);
        assert_eq!(parse("5m").unwrap().as_secs(), 300);
        assert_eq!(parse("2h").unwrap().as_secs(), 7200);
        assert_eq!(parse("30d").unwrap().as_secs(), 2_592_000);
        for bad in ["", "m", "5 m", "-5", "1.5h", "5w", "99999999999999999999d"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
