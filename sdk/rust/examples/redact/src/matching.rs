//! What is found (ASCII), as in plugins/redact/redact.c:
//!   email  local@domain.tld: local part [A-Za-z0-9._%+-]+, two or more dot-separated labels
//!          [A-Za-z0-9-]+ (not starting or ending with '-'), the last one two or more letters
//!   card   13-19 digits, groups optionally separated by one space or dash, passing Luhn
//!   ipv4   four dotted octets 0-255, not part of a longer dotted number
//!   ipv6   hex groups of 1-4 digits, full (8 groups) or compressed with one "::", optionally
//!          ending in an IPv4 address; at least one group
//! A card number or IP address glued to a letter, digit or '_' is not a match.

fn is_digit(c: u8) -> bool {
    c.is_ascii_digit()
}
fn is_alpha(c: u8) -> bool {
    c.is_ascii_alphabetic()
}
fn is_hex(c: u8) -> bool {
    c.is_ascii_hexdigit()
}
pub fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}
fn is_local(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-')
}
fn is_label(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

/// A number may start at i: not glued to a word, nor right after "<digit>."
fn number_starts(s: &[u8], i: usize) -> bool {
    if i == 0 {
        return true;
    }
    if is_word(s[i - 1]) {
        return false;
    }
    !(s[i - 1] == b'.' && i >= 2 && is_digit(s[i - 2]))
}

/// A number may end at j: not glued to a word, nor followed by ".<digit>"
fn number_ends(s: &[u8], j: usize) -> bool {
    if j >= s.len() {
        return true;
    }
    if is_word(s[j]) {
        return false;
    }
    !(s[j] == b'.' && j + 1 < s.len() && is_digit(s[j + 1]))
}

/// An e-mail address in the run of local-part characters starting at i: (start, end).
pub fn match_email(s: &[u8], i: usize) -> Option<(usize, usize)> {
    let n = s.len();
    if !is_local(s[i]) || (i > 0 && is_local(s[i - 1])) {
        return None;
    }
    let mut at = i;
    while at < n && is_local(s[at]) {
        at += 1;
    }
    if at >= n || s[at] != b'@' {
        return None;
    }
    let mut first = i;
    while first < at && s[first] == b'.' {
        first += 1;
    }
    if first == at {
        return None;
    }
    let (mut p, mut labels) = (at + 1, 0);
    let mut last;
    loop {
        let mut q = p;
        while q < n && is_label(s[q]) {
            q += 1;
        }
        if q == p || s[p] == b'-' || s[q - 1] == b'-' {
            return None;
        }
        labels += 1;
        last = p;
        p = q;
        if p + 1 < n && s[p] == b'.' && is_label(s[p + 1]) {
            p += 1;
            continue;
        }
        break;
    }
    if labels < 2 || p - last < 2 || !s[last..p].iter().all(|&c| is_alpha(c)) {
        return None;
    }
    Some((first, p))
}

fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (k, &d) in digits.iter().rev().enumerate() {
        let mut d = d as u32;
        if k & 1 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

/// A card number starting at i: the longest run of whole digit groups (separated by one
/// space or dash) with 13-19 digits that passes Luhn; its end.
pub fn match_card(s: &[u8], i: usize) -> Option<usize> {
    let n = s.len();
    if !is_digit(s[i]) || !number_starts(s, i) {
        return None;
    }
    let mut digits = [0u8; 19];
    let (mut count, mut p, mut best) = (0, i, None);
    loop {
        let mut q = p;
        while q < n && is_digit(s[q]) {
            if count == digits.len() {
                return best; // more than 19 digits
            }
            digits[count] = s[q] - b'0';
            count += 1;
            q += 1;
        }
        if count >= 13 && number_ends(s, q) && luhn(&digits[..count]) {
            best = Some(q);
        }
        if q + 1 < n && (s[q] == b' ' || s[q] == b'-') && is_digit(s[q + 1]) {
            p = q + 1;
        } else {
            return best;
        }
    }
}

/// Four dotted octets 0-255 at i, not followed by more of a dotted number; the end.
fn parse_ipv4(s: &[u8], i: usize) -> Option<usize> {
    let n = s.len();
    let mut p = i;
    for octet in 0..4 {
        if octet > 0 {
            if p >= n || s[p] != b'.' {
                return None;
            }
            p += 1;
        }
        let (mut q, mut v) = (p, 0u32);
        while q < n && is_digit(s[q]) {
            if q - p == 3 {
                return None;
            }
            v = v * 10 + (s[q] - b'0') as u32;
            q += 1;
        }
        if q == p || v > 255 {
            return None;
        }
        p = q;
    }
    number_ends(s, p).then_some(p)
}

pub fn match_ipv4(s: &[u8], i: usize) -> Option<usize> {
    if !is_digit(s[i]) || !number_starts(s, i) {
        return None;
    }
    parse_ipv4(s, i)
}

/// An IPv6 address starting at i; its end.
pub fn match_ipv6(s: &[u8], i: usize) -> Option<usize> {
    let n = s.len();
    if i > 0 && (is_word(s[i - 1]) || s[i - 1] == b':') {
        return None;
    }
    let (mut p, mut groups, mut compressed) = (i, 0, false);
    if s[p] == b':' {
        if p + 1 >= n || s[p + 1] != b':' {
            return None;
        }
        compressed = true;
        p += 2;
    } else if !is_hex(s[p]) {
        return None;
    }
    while p < n && is_hex(s[p]) {
        let mut run = 0;
        while p + run < n && is_hex(s[p + run]) {
            run += 1;
            if run > 4 {
                return None;
            }
        }
        if p + run + 1 < n && s[p + run] == b'.' && is_digit(s[p + run + 1]) {
            // IPv4 ending
            if groups == 0 && !compressed {
                return None;
            }
            p = parse_ipv4(s, p)?;
            groups += 2;
            break;
        }
        groups += 1;
        p += run;
        if groups > 8 {
            return None;
        }
        if p + 1 < n && s[p] == b':' && s[p + 1] == b':' {
            if compressed {
                return None;
            }
            compressed = true;
            p += 2;
        } else if p + 1 < n && s[p] == b':' && is_hex(s[p + 1]) {
            p += 1;
        } else {
            break;
        }
    }
    if p < n
        && (is_word(s[p])
            || (s[p] == b':' && p + 1 < n && s[p + 1] == b':')
            || (s[p] == b'.' && p + 1 < n && is_digit(s[p + 1])))
    {
        return None;
    }
    if groups == 0 || (compressed && groups > 7) || (!compressed && groups != 8) {
        return None;
    }
    Some(p)
}
