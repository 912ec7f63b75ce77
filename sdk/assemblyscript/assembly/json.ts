// A small JSON parser for the plugin's config. Numbers keep their text, so a plugin can
// tell 1 from 1.0.

export enum JsonType {
  Null = 0,
  Bool,
  Number,
  String,
  Array,
  Object,
}

export class Json {
  type: JsonType = JsonType.Null;
  b: bool = false;
  n: f64 = 0;
  text: string = ""; // a string's value, or a number's text
  items: Json[] = [];
  keys: string[] = [];

  /** The document, or null when it is not JSON. */
  static parse(s: string): Json | null {
    const p = new Parser(s);
    const v = p.value();
    if (v == null) return null;
    p.ws();
    return p.i == s.length ? v : null;
  }

  /** The value of key in an object (null if absent or not an object). */
  get(key: string): Json | null {
    if (this.type != JsonType.Object) return null;
    for (let k = 0; k < this.keys.length; k++) {
      if (this.keys[k] == key) return this.items[k];
    }
    return null;
  }
  isString(): bool {
    return this.type == JsonType.String;
  }
  isArray(): bool {
    return this.type == JsonType.Array;
  }
  isNumber(): bool {
    return this.type == JsonType.Number;
  }
  isBool(): bool {
    return this.type == JsonType.Bool;
  }
}

class Parser {
  i: i32 = 0;
  constructor(public s: string) {}

  ws(): void {
    while (this.i < this.s.length) {
      const c = this.s.charCodeAt(this.i);
      if (c != 32 && c != 9 && c != 10 && c != 13) break;
      this.i++;
    }
  }

  literal(word: string): bool {
    if (this.s.substr(this.i, word.length) != word) return false;
    this.i += word.length;
    return true;
  }

  value(): Json | null {
    this.ws();
    if (this.i >= this.s.length) return null;
    const c = this.s.charCodeAt(this.i);
    const v = new Json();
    if (c == 110 /* n */) return this.literal("null") ? v : null;
    if (c == 116 /* t */ || c == 102 /* f */) {
      v.type = JsonType.Bool;
      v.b = c == 116;
      return this.literal(v.b ? "true" : "false") ? v : null;
    }
    if (c == 34 /* " */) {
      const s = this.string();
      if (s == null) return null;
      v.type = JsonType.String;
      v.text = s;
      return v;
    }
    if (c == 91 /* [ */) {
      this.i++;
      v.type = JsonType.Array;
      this.ws();
      if (this.s.charCodeAt(this.i) == 93) {
        this.i++;
        return v;
      }
      for (;;) {
        const item = this.value();
        if (item == null) return null;
        v.items.push(item);
        this.ws();
        const d = this.s.charCodeAt(this.i++);
        if (d == 93) return v;
        if (d != 44) return null;
      }
    }
    if (c == 123 /* { */) {
      this.i++;
      v.type = JsonType.Object;
      this.ws();
      if (this.s.charCodeAt(this.i) == 125) {
        this.i++;
        return v;
      }
      for (;;) {
        this.ws();
        if (this.s.charCodeAt(this.i) != 34) return null;
        const key = this.string();
        if (key == null) return null;
        this.ws();
        if (this.s.charCodeAt(this.i++) != 58) return null;
        const item = this.value();
        if (item == null) return null;
        v.keys.push(key);
        v.items.push(item);
        this.ws();
        const d = this.s.charCodeAt(this.i++);
        if (d == 125) return v;
        if (d != 44) return null;
      }
    }
    const start = this.i;
    while (this.i < this.s.length) {
      const d = this.s.charCodeAt(this.i);
      if (!((d >= 48 && d <= 57) || d == 45 || d == 43 || d == 46 || d == 101 || d == 69)) break;
      this.i++;
    }
    if (this.i == start) return null;
    v.type = JsonType.Number;
    v.text = this.s.substring(start, this.i);
    v.n = parseFloat(v.text);
    return isNaN(v.n) ? null : v;
  }

  string(): string | null {
    this.i++; // the opening quote
    let out = "";
    let run = this.i;
    while (this.i < this.s.length) {
      const c = this.s.charCodeAt(this.i);
      if (c == 34) {
        out += this.s.substring(run, this.i);
        this.i++;
        return out;
      }
      if (c != 92) {
        this.i++;
        continue;
      }
      out += this.s.substring(run, this.i);
      const e = this.s.charCodeAt(this.i + 1);
      this.i += 2;
      if (e == 110) out += "\n";
      else if (e == 116) out += "\t";
      else if (e == 114) out += "\r";
      else if (e == 98) out += "\b";
      else if (e == 102) out += "\f";
      else if (e == 117) {
        const code = I32.parseInt(this.s.substr(this.i, 4), 16);
        out += String.fromCharCode(code);
        this.i += 4;
      } else out += String.fromCharCode(e);
      run = this.i;
    }
    return null;
  }
}
