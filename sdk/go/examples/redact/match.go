package main

// What is found (ASCII), as in plugins/redact/redact.c:
//
//	email  local@domain.tld: local part [A-Za-z0-9._%+-]+, two or more dot-separated labels
//	       [A-Za-z0-9-]+ (not starting or ending with '-'), the last one two or more letters
//	card   13-19 digits, groups optionally separated by one space or dash, passing Luhn
//	ipv4   four dotted octets 0-255, not part of a longer dotted number
//	ipv6   hex groups of 1-4 digits, full (8 groups) or compressed with one "::", optionally
//	       ending in an IPv4 address; at least one group
//
// A card number or IP address glued to a letter, digit or '_' is not a match.

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isHex(c byte) bool   { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') }
func isWord(c byte) bool  { return isDigit(c) || isAlpha(c) || c == '_' }

func isLocal(c byte) bool { // e-mail local part
	return isDigit(c) || isAlpha(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

func isLabel(c byte) bool { return isDigit(c) || isAlpha(c) || c == '-' } // domain label

// numberStarts: a number may start at i: not glued to a word, nor right after "<digit>."
func numberStarts(s []byte, i int) bool {
	if i == 0 {
		return true
	}
	if isWord(s[i-1]) {
		return false
	}
	return !(s[i-1] == '.' && i >= 2 && isDigit(s[i-2]))
}

// numberEnds: a number may end at j: not glued to a word, nor followed by ".<digit>"
func numberEnds(s []byte, j int) bool {
	n := len(s)
	if j >= n {
		return true
	}
	if isWord(s[j]) {
		return false
	}
	return !(s[j] == '.' && j+1 < n && isDigit(s[j+1]))
}

// matchEmail: an e-mail address in the run of local-part characters starting at i (tried
// only at the start of such a run). Returns its start (leading dots left out) and end, or
// end 0.
func matchEmail(s []byte, i int) (start, end int) {
	n := len(s)
	if !isLocal(s[i]) || (i > 0 && isLocal(s[i-1])) {
		return 0, 0
	}
	at := i
	for at < n && isLocal(s[at]) {
		at++
	}
	if at >= n || s[at] != '@' {
		return 0, 0
	}
	first := i
	for first < at && s[first] == '.' {
		first++
	}
	if first == at {
		return 0, 0
	}
	p, labels, last := at+1, 0, at+1
	for {
		q := p
		for q < n && isLabel(s[q]) {
			q++
		}
		if q == p || s[p] == '-' || s[q-1] == '-' {
			return 0, 0
		}
		labels++
		last = p
		p = q
		if p+1 < n && s[p] == '.' && isLabel(s[p+1]) {
			p++
			continue
		}
		break
	}
	if labels < 2 || p-last < 2 {
		return 0, 0
	}
	for k := last; k < p; k++ {
		if !isAlpha(s[k]) {
			return 0, 0
		}
	}
	return first, p
}

func luhn(digits []byte) bool {
	sum := 0
	n := len(digits)
	for k := 0; k < n; k++ {
		d := int(digits[n-1-k])
		if k&1 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// matchCard: a card number starting at i: the longest run of whole digit groups (separated
// by one space or dash) with 13-19 digits that passes Luhn. Returns its end or 0.
func matchCard(s []byte, i int) int {
	n := len(s)
	if !isDigit(s[i]) || !numberStarts(s, i) {
		return 0
	}
	var digits [19]byte
	count, p, best := 0, i, 0
	for {
		q := p
		for q < n && isDigit(s[q]) {
			if count == len(digits) {
				return best // more than 19 digits
			}
			digits[count] = s[q] - '0'
			count++
			q++
		}
		if count >= 13 && numberEnds(s, q) && luhn(digits[:count]) {
			best = q
		}
		if q+1 < n && (s[q] == ' ' || s[q] == '-') && isDigit(s[q+1]) {
			p = q + 1
		} else {
			return best
		}
	}
}

// parseIPv4: four dotted octets 0-255 at i, not followed by more of a dotted number; end
// or 0.
func parseIPv4(s []byte, i int) int {
	n := len(s)
	p := i
	for octet := 0; octet < 4; octet++ {
		if octet > 0 {
			if p >= n || s[p] != '.' {
				return 0
			}
			p++
		}
		q, v := p, 0
		for q < n && isDigit(s[q]) {
			if q-p == 3 {
				return 0
			}
			v = v*10 + int(s[q]-'0')
			q++
		}
		if q == p || v > 255 {
			return 0
		}
		p = q
	}
	if numberEnds(s, p) {
		return p
	}
	return 0
}

func matchIPv4(s []byte, i int) int {
	if !isDigit(s[i]) || !numberStarts(s, i) {
		return 0
	}
	return parseIPv4(s, i)
}

// matchIPv6: an IPv6 address starting at i; end or 0.
func matchIPv6(s []byte, i int) int {
	n := len(s)
	if i > 0 && (isWord(s[i-1]) || s[i-1] == ':') {
		return 0
	}
	p, groups, compressed := i, 0, false
	if s[p] == ':' {
		if p+1 >= n || s[p+1] != ':' {
			return 0
		}
		compressed = true
		p += 2
	} else if !isHex(s[p]) {
		return 0
	}
	for p < n && isHex(s[p]) {
		run := 0
		for p+run < n && isHex(s[p+run]) {
			run++
			if run > 4 {
				return 0
			}
		}
		if p+run+1 < n && s[p+run] == '.' && isDigit(s[p+run+1]) { // IPv4 ending
			if groups == 0 && !compressed {
				return 0
			}
			end := parseIPv4(s, p)
			if end == 0 {
				return 0
			}
			groups += 2
			p = end
			break
		}
		groups++
		p += run
		if groups > 8 {
			return 0
		}
		if p+1 < n && s[p] == ':' && s[p+1] == ':' {
			if compressed {
				return 0
			}
			compressed = true
			p += 2
		} else if p+1 < n && s[p] == ':' && isHex(s[p+1]) {
			p++
		} else {
			break
		}
	}
	if p < n && (isWord(s[p]) || (s[p] == ':' && p+1 < n && s[p+1] == ':') ||
		(s[p] == '.' && p+1 < n && isDigit(s[p+1]))) {
		return 0
	}
	if groups == 0 || (compressed && groups > 7) || (!compressed && groups != 8) {
		return 0
	}
	return p
}
