//! Numbers as people read them in tables, axes and reports.

/// Three significant digits, without trailing zeros.
pub fn short(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e5).contains(&a) {
        // 3.16e5, 1e7 (no trailing zeros in the mantissa).
        let s = format!("{v:.2e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = m.trim_end_matches('0').trim_end_matches('.');
        format!("{m}e{e}")
    } else {
        let decimals = (2 - a.log10().floor() as i32).max(0) as usize;
        let s = format!("{v:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::short;

    #[test]
    fn short_numbers_keep_three_significant_digits() {
        assert_eq!(short(0.012345), "0.0123");
        assert_eq!(short(78.0), "78");
        assert_eq!(short(1.5e7), "1.5e7");
        assert_eq!(short(1e5), "1e5");
        assert_eq!(short(3.16227e-5), "3.16e-5");
        assert_eq!(short(-2.5), "-2.5");
        assert_eq!(short(0.0), "0");
    }
}
