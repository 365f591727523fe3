//! The `Range` header: one byte range is answered `206`; several, or one outside the file,
//! `416`. A header in another unit or not in the `bytes=` grammar is ignored (the whole file
//! is sent), as HTTP allows.

/// What a `Range` header asks of a file of a given length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ranged {
    /// No usable `Range`: the whole file.
    Whole,
    /// Bytes `start..=end`.
    Part { start: u64, end: u64 },
    /// `416 Range Not Satisfiable`.
    Unsatisfiable,
}

pub(crate) fn parse(header: &str, len: u64) -> Ranged {
    let header = header.trim();
    let Some((unit, specs)) = header.split_once('=') else {
        return Ranged::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return Ranged::Whole;
    }
    let specs: Vec<&str> = specs
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let [spec] = specs.as_slice() else {
        // Several ranges would need a multipart answer; none is no range at all.
        return if specs.is_empty() {
            Ranged::Whole
        } else {
            Ranged::Unsatisfiable
        };
    };
    let Some((first, last)) = spec.split_once('-') else {
        return Ranged::Whole;
    };
    let number = |s: &str| {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    match (first.trim().is_empty(), number(first), number(last)) {
        // `-N`: the last N bytes.
        (true, _, Some(suffix)) => {
            if suffix == 0 || len == 0 {
                Ranged::Unsatisfiable
            } else {
                Ranged::Part {
                    start: len.saturating_sub(suffix),
                    end: len - 1,
                }
            }
        }
        (false, Some(start), end) if last.trim().is_empty() || end.is_some() => match end {
            Some(end) if end < start => Ranged::Whole,
            _ if start >= len => Ranged::Unsatisfiable,
            end => Ranged::Part {
                start,
                end: end.map_or(len - 1, |e| e.min(len - 1)),
            },
        },
        _ => Ranged::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let part = |start, end| Ranged::Part { start, end };
        let cases = [
            ("bytes=0-9", 100, part(0, 9)),
            ("bytes=90-", 100, part(90, 99)),
            ("bytes=95-200", 100, part(95, 99)),
            ("bytes=-10", 100, part(90, 99)),
            ("bytes=-500", 100, part(0, 99)),
            ("BYTES = 1-1", 100, part(1, 1)),
            ("bytes=100-", 100, Ranged::Unsatisfiable),
            ("bytes=-0", 100, Ranged::Unsatisfiable),
            ("bytes=0-0", 0, Ranged::Unsatisfiable),
            ("bytes=0-1,5-6", 100, Ranged::Unsatisfiable),
            ("bytes=9-3", 100, Ranged::Whole),
            ("bytes=a-b", 100, Ranged::Whole),
            ("bytes=", 100, Ranged::Whole),
            ("items=0-1", 100, Ranged::Whole),
            ("bytes=+1-2", 100, Ranged::Whole),
        ];
        for (header, len, want) in cases {
            assert_eq!(parse(header, len), want, "{header} of {len}");
        }
    }
}
