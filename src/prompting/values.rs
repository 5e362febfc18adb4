//! Reading one stated answer as a value: full-width forms folded to ASCII, an option letter with
//! word boundaries (a letter inside a word is not an answer), a number with units, thousands
//! separators, fractions, `\frac`, percentages and decimals, and normalised text. Extraction
//! ([`super::extract`]) finds where an answer is stated; this module reads what was stated.

/// Folds full-width ASCII forms (`Ａ`, `１`, `（`, `：`, `，`) and the ideographic space to ASCII,
/// so that one set of rules reads both. Everything else is kept.
pub fn fold_width(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            '−' => '-',
            _ => c,
        })
        .collect()
}

/// What an option-letter reading found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Letter {
    One(char),
    /// Two different letters offered as alternatives (`A or B`, `A、C`).
    Several(Vec<char>),
    None,
}

/// Words that may stand between a marker and the letter ("clearly D", "选项 C").
const FILLER: &[&str] = &[
    "clearly",
    "definitely",
    "probably",
    "likely",
    "most",
    "obviously",
    "certainly",
    "surely",
    "actually",
    "therefore",
    "thus",
    "so",
    "option",
    "options",
    "choice",
    "letter",
    "answer",
    "is",
    "be",
    "the",
    "text",
    "mathrm",
    "textbf",
    "boxed",
];
const CJK_FILLER: &[&str] = &[
    "选项", "选择", "选", "项", "是", "为", "應", "应该", "应", "就", "肯定", "显然", "当然", "最",
    "可能", "答案", "正确",
];
/// What joins alternatives: `A or B`, `A或B`, `A、B`, `A/B`, `A和C`.
const ALT_WORDS: &[&str] = &["or", "and"];
const ALT_CJK: &[&str] = &["或者", "或", "还是", "和", "与", "、", ",", "/", "&"];

/// The option letter stated at the start of `value` (after filler words), within `A`..=`max`.
pub fn letter(value: &str, max: char) -> Letter {
    let v = fold_width(value);
    let chars: Vec<(usize, char)> = v.char_indices().collect();
    let mut i = 0;
    let mut found: Vec<char> = Vec::new();
    let mut expect_alt = false;
    while i < chars.len() {
        let (at, c) = chars[i];
        let rest = &v[at..];
        if c.is_whitespace() || "*([{【`\"'$_:\\#>".contains(c) || c == '“' || c == '‘' {
            i += 1;
            continue;
        }
        if c.is_ascii_alphabetic() {
            let len = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .count();
            let word = &rest[..len];
            let lower = word.to_ascii_lowercase();
            if len == 1 {
                let up = c.to_ascii_uppercase();
                let next = rest[1..].chars().next();
                let prev = i.checked_sub(1).map(|j| chars[j].1);
                let bracketed = matches!(prev, Some('(' | '[' | '【' | '{'));
                let prose = (c == 'A' || c == 'I' || c == 'a')
                    && !bracketed
                    && rest[1..].starts_with(' ')
                    && rest[2..].starts_with(|n: char| n.is_ascii_lowercase())
                    && !["is", "or", "and", "because", "since", "was"]
                        .iter()
                        .any(|w| {
                            rest[2..].starts_with(w)
                                && !rest[2 + w.len()..]
                                    .starts_with(|n: char| n.is_ascii_alphabetic())
                        });
                let lower_ok = c.is_ascii_uppercase()
                    || bracketed
                    || next.is_none_or(|n| !n.is_ascii_alphabetic() && n != ' ')
                    || v.trim().len() == 1;
                if prose || !lower_ok {
                    break;
                }
                if !found.contains(&up) {
                    found.push(up);
                }
                // After a letter only a separator for an alternative may continue the list.
                let after = &v[at + 1..];
                let trimmed = after.trim_start_matches([' ', ')', ']', '】', '}', '*', '.']);
                let alt = ALT_WORDS.iter().find(|w| {
                    trimmed.to_ascii_lowercase().starts_with(*w)
                        && !trimmed[w.len()..].starts_with(|n: char| n.is_ascii_alphabetic())
                });
                let alt_cjk = ALT_CJK.iter().find(|w| trimmed.starts_with(*w));
                let skip = alt.map(|w| w.len()).or(alt_cjk.map(|w| w.len()));
                match skip {
                    Some(n) => {
                        let resume = v.len() - trimmed.len() + n;
                        i = chars.partition_point(|(p, _)| *p < resume);
                        expect_alt = true;
                    }
                    None => break,
                }
                continue;
            }
            if expect_alt || !FILLER.contains(&lower.as_str()) {
                break;
            }
            i += len;
            continue;
        }
        if let Some(f) = CJK_FILLER.iter().find(|f| rest.starts_with(*f)) {
            if expect_alt {
                break;
            }
            i += f.chars().count();
            continue;
        }
        break;
    }
    let found: Vec<char> = found.into_iter().filter(|c| *c <= max).collect();
    match found.len() {
        0 => Letter::None,
        1 => Letter::One(found[0]),
        _ => Letter::Several(found),
    }
}

/// A golden answer that is an option letter: `B`, `(B)`, `B.`, `B) 巴黎`, `选B`, `Ｂ`.
pub fn lone_letter(golden: &str) -> Option<char> {
    let g = fold_width(golden);
    let t = g
        .trim()
        .trim_start_matches(['(', '[', '【', '选'])
        .trim_start();
    let mut chars = t.chars();
    let c = chars.next()?.to_ascii_uppercase();
    if !c.is_ascii_uppercase() || c > 'Z' {
        return None;
    }
    match chars.next() {
        None => Some(c),
        Some(n) if ")].、:】".contains(n) => Some(c),
        _ => None,
    }
}

/// A number as written, with what the comparison needs to know about its form.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Num {
    pub value: f64,
    /// Digits after the decimal point, for comparing a rounded decimal with a fraction.
    pub decimals: u32,
    pub fraction: bool,
    pub percent: bool,
}

impl Num {
    fn plain(value: f64) -> Num {
        Num {
            value,
            decimals: 0,
            fraction: false,
            percent: false,
        }
    }
}

/// Whether two numbers are the same value: equal up to float noise, a percentage equal to its
/// fraction or its figure (`50%` = `0.5` = `50`), a decimal of two or more places equal to a
/// fraction it rounds (`0.33` = `1/3`).
pub fn same_number(a: Num, b: Num) -> bool {
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0);
    if close(a.value, b.value) {
        return true;
    }
    if a.percent != b.percent {
        let (p, q) = if a.percent { (a, b) } else { (b, a) };
        if close(p.value * 100.0, q.value) {
            return true;
        }
    }
    let rounded = |d: Num, f: Num| {
        f.fraction
            && !d.fraction
            && d.decimals >= 2
            && (d.value - f.value).abs() <= 0.5 * 10f64.powi(-(d.decimals as i32)) + 1e-12
    };
    rounded(a, b) || rounded(b, a)
}

/// The number a stated answer gives: after the last `=`, the first number (units and words
/// around it allowed: `42个苹果`, `$1,234.50`, `3.5倍`, `x = 5`), a `\frac{a}{b}`, or a whole
/// number word (`twelve`).
pub fn number(value: &str) -> Option<Num> {
    let v = fold_width(value);
    let v = v.rsplit_once('=').map(|(_, r)| r).unwrap_or(&v);
    let v = v.rsplit_once('≈').map(|(_, r)| r).unwrap_or(v);
    if let Some(n) = frac(v) {
        return Some(n);
    }
    if let Some(n) = first_number(v) {
        return Some(n);
    }
    word_number(v)
}

/// All distinct numbers stated as alternatives (`42或43`, `42 or 43`).
pub fn alternatives(value: &str) -> Vec<Num> {
    let v = fold_width(value);
    let mut parts = vec![v.as_str()];
    for sep in [" or ", "或者", "或", "还是"] {
        parts = parts.into_iter().flat_map(|p| p.split(sep)).collect();
    }
    let mut out: Vec<Num> = Vec::new();
    for p in parts {
        if let Some(n) = number(p)
            && !out.iter().any(|o| same_number(*o, n))
        {
            out.push(n);
        }
    }
    out
}

fn frac(v: &str) -> Option<Num> {
    for tag in ["\\dfrac{", "\\tfrac{", "\\frac{"] {
        if let Some(p) = v.find(tag) {
            let neg = v[..p].trim_end().ends_with('-');
            let inner = &v[p + tag.len()..];
            let (a, rest) = inner.split_once("}{")?;
            let b = rest.split('}').next()?;
            let (a, b) = (a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?);
            if b == 0.0 {
                return None;
            }
            let value = if neg { -a / b } else { a / b };
            return Some(Num {
                value,
                decimals: 0,
                fraction: true,
                percent: false,
            });
        }
    }
    None
}

fn first_number(v: &str) -> Option<Num> {
    let b = v.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            // A digit glued to a letter before it is part of a name (`H2O`, `x2`), not a value.
            let glued = i > 0 && b[i - 1].is_ascii_alphabetic();
            let (num, end) = read_number(v, i);
            if !glued && let Some(mut n) = num {
                if i > 0 && b[i - 1] == b'-' {
                    n.value = -n.value;
                }
                return Some(n);
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    None
}

/// Reads the number starting at byte `i`: grouping commas, a decimal part, a `/` fraction, `%`.
fn read_number(v: &str, start: usize) -> (Option<Num>, usize) {
    let b = v.as_bytes();
    let digits = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut i = digits(start);
    let mut text: String = v[start..i].to_string();
    // Thousands separators: `1,234,567` (exactly three digits after each comma).
    while i + 3 < b.len() + 1
        && b.get(i) == Some(&b',')
        && b.get(i + 1..i + 4)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
        && !b.get(i + 4).is_some_and(u8::is_ascii_digit)
    {
        text.push_str(&v[i + 1..i + 4]);
        i += 4;
    }
    let mut decimals = 0;
    if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        let e = digits(i + 1);
        decimals = (e - i - 1) as u32;
        text.push_str(&v[i..e]);
        i = e;
    }
    let Ok(value) = text.parse::<f64>() else {
        return (None, i);
    };
    let mut n = Num::plain(value);
    n.decimals = decimals;
    let mut j = i;
    while b.get(j) == Some(&b' ') {
        j += 1;
    }
    if b.get(j) == Some(&b'/') {
        let mut k = j + 1;
        while b.get(k) == Some(&b' ') {
            k += 1;
        }
        let e = digits(k);
        if e > k
            && let Ok(d) = v[k..e].parse::<f64>()
            && d != 0.0
        {
            n.value /= d;
            n.fraction = true;
            n.decimals = 0;
            i = e;
        }
    }
    if b.get(i) == Some(&b'%') || v[i..].starts_with(" %") || v[i..].starts_with("percent") {
        n.percent = true;
        n.value /= 100.0;
    }
    (n.value.is_finite().then_some(n), i)
}

fn word_number(v: &str) -> Option<Num> {
    const WORDS: &[&str] = &[
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
    ];
    let w = normalise(v);
    WORDS
        .iter()
        .position(|x| *x == w)
        .map(|i| Num::plain(i as f64))
}

/// Text for comparison: folded, lowercased, letters and digits only, a leading article dropped.
pub fn normalise(s: &str) -> String {
    let s = fold_width(s).to_lowercase();
    let s = s.trim();
    let keep = |s: &str| {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .collect::<String>()
    };
    let bare = ["the ", "a ", "an "]
        .iter()
        .find_map(|a| s.strip_prefix(a))
        .map(keep)
        .unwrap_or_default();
    if bare.is_empty() { keep(s) } else { bare }
}
