//! The query text as tokens, each with its byte offset (errors report line:column from it).
//!
//! Index patterns (`logs-aws.cloudtrail-*`) and KEEP/DROP wildcards (`Esql.*`) are not tokens of
//! their own: the parser rebuilds them from tokens that touch, so ordinary expressions such as
//! `a*2` keep their meaning.

use crate::error::{EsqlError, error_at};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A name: a keyword, function, or field. `quoted` when written with backticks, which makes
    /// it never a keyword.
    Ident {
        name: String,
        quoted: bool,
    },
    Int(i64),
    Float(f64),
    Str(String),
    /// Punctuation and operators: `==`, `!=`, `<`, `<=`, `>`, `>=`, `=~`, `=`, `+`, `-`, `*`,
    /// `/`, `%`, `(`, `)`, `[`, `]`, `,`, `|`, `.`, `::`, `?`.
    Sym(&'static str),
    /// A character ES|QL has no use for here; index patterns may still contain it.
    Other(char),
    Eof,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    /// Byte offsets of the token in the query text.
    pub start: usize,
    pub end: usize,
}

impl Token {
    /// Whether this is the keyword `word` (any case, never a quoted name).
    pub fn is_keyword(&self, word: &str) -> bool {
        matches!(&self.tok, Tok::Ident { name, quoted: false } if name.eq_ignore_ascii_case(word))
    }

    pub fn is_sym(&self, sym: &str) -> bool {
        matches!(self.tok, Tok::Sym(s) if s == sym)
    }
}

const SYMBOLS: &[&str] = &[
    "==", "!=", "<=", ">=", "=~", "::", "<", ">", "=", "+", "-", "*", "/", "%", "(", ")", "[", "]", ",", "|", ".", "?",
];

pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, EsqlError> {
    let mut lexer = Lexer { text, pos: 0 };
    let mut tokens = Vec::new();
    loop {
        lexer.skip_space_and_comments()?;
        let start = lexer.pos;
        let tok = lexer.token()?;
        let eof = tok == Tok::Eof;
        tokens.push(Token { tok, start, end: lexer.pos });
        if eof {
            return Ok(tokens);
        }
    }
}

struct Lexer<'a> {
    text: &'a str,
    pos: usize,
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == '@'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '@'
}

impl Lexer<'_> {
    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn skip_space_and_comments(&mut self) -> Result<(), EsqlError> {
        loop {
            let rest = self.rest();
            if let Some(c) = rest.chars().next().filter(|c| c.is_whitespace()) {
                self.pos += c.len_utf8();
            } else if rest.starts_with("//") {
                self.pos += rest.find('\n').unwrap_or(rest.len());
            } else if let Some(body) = rest.strip_prefix("/*") {
                let end = body.find("*/").ok_or_else(|| error_at(self.text, self.pos, "unterminated comment"))?;
                self.pos += end + 4;
            } else {
                return Ok(());
            }
        }
    }

    fn token(&mut self) -> Result<Tok, EsqlError> {
        let Some(c) = self.peek() else { return Ok(Tok::Eof) };
        if c == '"' {
            return self.string();
        }
        if c.is_ascii_digit() {
            return self.number();
        }
        if is_name_start(c) || c == '`' {
            return self.name();
        }
        if let Some(sym) = SYMBOLS.iter().find(|s| self.rest().starts_with(**s)) {
            self.pos += sym.len();
            return Ok(Tok::Sym(sym));
        }
        self.pos += c.len_utf8();
        Ok(Tok::Other(c))
    }

    /// `"..."` with escapes, or `"""..."""` taken as written.
    fn string(&mut self) -> Result<Tok, EsqlError> {
        let start = self.pos;
        if let Some(body) = self.rest().strip_prefix("\"\"\"") {
            let end = body.find("\"\"\"").ok_or_else(|| error_at(self.text, start, "unterminated string"))?;
            // A closing run of more than three quotes ends with the last three.
            let extra = body[end + 3..].chars().take_while(|&c| c == '"').count();
            let value = body[..end + extra].to_string();
            self.pos += 3 + end + extra + 3;
            return Ok(Tok::Str(value));
        }
        self.pos += 1;
        let mut value = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(Tok::Str(value));
                }
                '\\' => {
                    let Some((_, e)) = chars.next() else { break };
                    value.push(match e {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        '"' => '"',
                        '\\' => '\\',
                        _ => {
                            let at = self.pos + i;
                            return Err(error_at(self.text, at, format!("unknown escape sequence \\{e}")));
                        }
                    });
                }
                '\n' | '\r' => break,
                _ => value.push(c),
            }
        }
        Err(error_at(self.text, start, "unterminated string"))
    }

    fn number(&mut self) -> Result<Tok, EsqlError> {
        let start = self.pos;
        let digits = |s: &str| s.chars().take_while(char::is_ascii_digit).count();
        let mut end = digits(self.rest());
        let mut float = false;
        let rest = self.rest();
        if rest[end..].starts_with('.') && rest[end + 1..].starts_with(|c: char| c.is_ascii_digit()) {
            end += 1 + digits(&rest[end + 1..]);
            float = true;
        }
        if rest[end..].starts_with(['e', 'E']) {
            let sign = usize::from(rest[end + 1..].starts_with(['+', '-']));
            let exp = digits(&rest[end + 1 + sign..]);
            if exp > 0 {
                end += 1 + sign + exp;
                float = true;
            }
        }
        let text = &self.text[start..start + end];
        self.pos += end;
        if float {
            return text.parse().map(Tok::Float).map_err(|_| error_at(self.text, start, "invalid number"));
        }
        match text.parse::<i64>() {
            Ok(v) => Ok(Tok::Int(v)),
            // Past the range of long, ES|QL reads the literal as a double.
            Err(_) => text.parse().map(Tok::Float).map_err(|_| error_at(self.text, start, "invalid number")),
        }
    }

    /// A field or function name: parts joined by dots, each unquoted or in backticks
    /// (`` `source.as.organization.name` ``, `` a.`b c` ``).
    fn name(&mut self) -> Result<Tok, EsqlError> {
        let mut name = String::new();
        let mut quoted = false;
        loop {
            if self.peek() == Some('`') {
                let start = self.pos;
                self.pos += 1;
                loop {
                    let Some(c) = self.peek() else {
                        return Err(error_at(self.text, start, "unterminated quoted name"));
                    };
                    self.pos += c.len_utf8();
                    if c == '`' {
                        if self.peek() == Some('`') {
                            self.pos += 1;
                            name.push('`');
                        } else {
                            break;
                        }
                    } else {
                        name.push(c);
                    }
                }
                quoted = true;
            } else {
                let part: String = self.rest().chars().take_while(|&c| is_name_char(c)).collect();
                self.pos += part.len();
                name.push_str(&part);
            }
            // Another part follows a dot only when the dot is directly followed by one.
            let rest = self.rest();
            if rest.starts_with('.') && rest[1..].starts_with(|c: char| is_name_char(c) || c == '`') {
                self.pos += 1;
                name.push('.');
            } else {
                return Ok(Tok::Ident { name, quoted });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<Tok> {
        tokenize(text).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn names_numbers_strings_and_comments() {
        let ident = |n: &str, quoted| Tok::Ident { name: n.into(), quoted };
        assert_eq!(
            toks("source.ip == `a.b`.c // x\n/* y */ 1.5 \"q\\\"\" \"\"\"r\\d\"\"\" 7 days"),
            [
                ident("source.ip", false),
                Tok::Sym("=="),
                ident("a.b.c", true),
                Tok::Float(1.5),
                Tok::Str("q\"".into()),
                Tok::Str("r\\d".into()),
                Tok::Int(7),
                ident("days", false),
                Tok::Eof
            ]
        );
        assert_eq!(toks("Esql.*"), [ident("Esql", false), Tok::Sym("."), Tok::Sym("*"), Tok::Eof]);
    }

    #[test]
    fn errors_have_positions() {
        assert_eq!(tokenize("a\n  \"x").unwrap_err().to_string(), "2:3: unterminated string");
    }
}
