//! Recursive descent over the tokens: `FROM … | command | command …`.
//!
//! Operator precedence, loosest first: `OR`, `AND`, `NOT`, the predicates (comparisons, `IN`,
//! `LIKE`, `RLIKE`, `IS NULL`), `+ -`, `* / %`, unary minus, `::` casts.

use crate::ast::{
    Aggregate, Assign, BinOp, Command, CommandKind, Expr, ExprKind, NamePattern, SortKey, SpanUnit, TimeSpan,
};
use crate::error::{EsqlError, error_at};
use crate::lexer::{Tok, Token, tokenize};

/// The parts of a query: its index patterns, its METADATA fields and its commands.
pub(crate) struct Parsed {
    pub indices: Vec<String>,
    pub metadata: Vec<NamePattern>,
    pub commands: Vec<Command>,
}

/// Commands of ES|QL that keytrail does not run, so that they are named in the error.
const UNSUPPORTED_COMMANDS: &[&str] = &[
    "enrich",
    "lookup",
    "change_point",
    "fork",
    "completion",
    "sample",
    "rerank",
    "fuse",
    "row",
    "show",
    "ts",
    "explain",
];

pub(crate) fn parse(text: &str) -> Result<Parsed, EsqlError> {
    let tokens = tokenize(text)?;
    let mut parser = Parser { text, tokens, pos: 0 };
    parser.query()
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        &self.tokens[self.pos]
    }

    fn peek_at(&self, ahead: usize) -> &Token {
        &self.tokens[(self.pos + ahead).min(self.tokens.len() - 1)]
    }

    fn advance(&mut self) -> Token {
        let token = self.tokens[self.pos].clone();
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
        token
    }

    fn error(&self, at: usize, message: impl Into<String>) -> EsqlError {
        error_at(self.text, at, message)
    }

    /// An error at the next token, saying what was expected instead.
    fn expected(&self, what: &str) -> EsqlError {
        let token = self.peek();
        let found = match &token.tok {
            Tok::Eof => "the end of the query".to_string(),
            _ => format!("'{}'", &self.text[token.start..token.end]),
        };
        self.error(token.start, format!("expected {what}, found {found}"))
    }

    fn eat_keyword(&mut self, word: &str) -> bool {
        let found = self.peek().is_keyword(word);
        if found {
            self.advance();
        }
        found
    }

    fn eat_sym(&mut self, sym: &str) -> bool {
        let found = self.peek().is_sym(sym);
        if found {
            self.advance();
        }
        found
    }

    fn expect_sym(&mut self, sym: &str) -> Result<(), EsqlError> {
        if self.eat_sym(sym) { Ok(()) } else { Err(self.expected(&format!("'{sym}'"))) }
    }

    fn expect_keyword(&mut self, word: &str) -> Result<(), EsqlError> {
        if self.eat_keyword(word) { Ok(()) } else { Err(self.expected(&word.to_ascii_uppercase())) }
    }

    fn string_literal(&mut self, what: &str) -> Result<String, EsqlError> {
        match &self.peek().tok {
            Tok::Str(s) => {
                let s = s.clone();
                self.advance();
                Ok(s)
            }
            _ => Err(self.expected(what)),
        }
    }

    fn query(&mut self) -> Result<Parsed, EsqlError> {
        let first = self.peek().clone();
        if !first.is_keyword("from") {
            if let Tok::Ident { name, quoted: false } = &first.tok {
                return Err(self.error(first.start, format!("unsupported source command {}", name.to_uppercase())));
            }
            return Err(self.expected("FROM"));
        }
        self.advance();
        let mut indices = vec![self.touching_text("an index pattern")?.0];
        while self.eat_sym(",") {
            indices.push(self.touching_text("an index pattern")?.0);
        }
        let mut metadata = Vec::new();
        if self.eat_keyword("metadata") {
            loop {
                metadata.push(self.name_pattern(false)?);
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        let mut commands = Vec::new();
        while self.eat_sym("|") {
            commands.push(self.command()?);
        }
        if self.peek().tok != Tok::Eof {
            return Err(self.expected("'|' or the end of the query"));
        }
        Ok(Parsed { indices, metadata, commands })
    }

    /// The text of a run of tokens that touch each other (no space or comment between them),
    /// such as `logs-aws.cloudtrail-*`, with its offset. Quoted strings stand for their value.
    fn touching_text(&mut self, what: &str) -> Result<(String, usize), EsqlError> {
        let first = self.peek().clone();
        if let Tok::Str(s) = &first.tok {
            self.advance();
            return Ok((s.clone(), first.start));
        }
        let stops = |t: &Token| matches!(t.tok, Tok::Eof | Tok::Str(_)) || t.is_sym(",") || t.is_sym("|");
        if stops(&first) || first.is_keyword("metadata") {
            return Err(self.expected(what));
        }
        let mut end = first.end;
        self.advance();
        while self.peek().start == end && !stops(self.peek()) {
            end = self.advance().end;
        }
        Ok((self.text[first.start..end].to_string(), first.start))
    }

    /// A column name, or with `wildcards` a pattern such as `Esql.*`, from touching names,
    /// dots and stars. Backtick-quoted parts stand for their content.
    fn name_pattern(&mut self, wildcards: bool) -> Result<NamePattern, EsqlError> {
        let first = self.peek().clone();
        let part = |t: &Token| match &t.tok {
            Tok::Ident { name, .. } => Some(name.clone()),
            Tok::Sym(".") => Some(".".to_string()),
            Tok::Sym("*") if wildcards => Some("*".to_string()),
            _ => None,
        };
        let Some(mut pattern) = part(&first).filter(|p| p != ".") else {
            return Err(self.expected("a column name"));
        };
        let mut end = first.end;
        self.advance();
        while self.peek().start == end {
            let Some(more) = part(self.peek()) else { break };
            pattern.push_str(&more);
            end = self.advance().end;
        }
        Ok(NamePattern { pattern, at: first.start })
    }

    fn command(&mut self) -> Result<Command, EsqlError> {
        let token = self.peek().clone();
        let Tok::Ident { name, quoted: false } = &token.tok else {
            return Err(self.expected("a command"));
        };
        let word = name.to_ascii_lowercase();
        self.advance();
        let kind = match word.as_str() {
            "where" => CommandKind::Where(self.expr()?),
            "eval" => CommandKind::Eval(self.assignments()?),
            "stats" => {
                let (aggregates, by) = self.stats()?;
                CommandKind::Stats { aggregates, by }
            }
            // `INLINE STATS`, and its older one-word spelling.
            "inline" | "inlinestats" => {
                if word == "inline" {
                    self.expect_keyword("stats")?;
                }
                let (aggregates, by) = self.stats()?;
                CommandKind::InlineStats { aggregates, by }
            }
            "keep" => CommandKind::Keep(self.name_patterns()?),
            "drop" => CommandKind::Drop(self.name_patterns()?),
            "rename" => self.rename()?,
            "sort" => self.sort()?,
            "limit" => match self.advance().tok {
                Tok::Int(n) if n >= 0 => CommandKind::Limit(n as u64),
                _ => return Err(self.error(token.end, "LIMIT needs a whole number")),
            },
            "dissect" => {
                let input = self.primary_for_pattern()?;
                let pattern = self.string_literal("a dissect pattern")?;
                let mut append_separator = String::new();
                if let Tok::Ident { name, quoted: false } = &self.peek().tok
                    && name.eq_ignore_ascii_case("append_separator")
                {
                    self.advance();
                    self.expect_sym("=")?;
                    append_separator = self.string_literal("the separator")?;
                }
                CommandKind::Dissect { input, pattern, append_separator }
            }
            "grok" => {
                let input = self.primary_for_pattern()?;
                CommandKind::Grok { input, pattern: self.string_literal("a grok pattern")? }
            }
            "mv_expand" => CommandKind::MvExpand(self.name_pattern(false)?),
            _ if UNSUPPORTED_COMMANDS.contains(&word.as_str()) || word == "from" => {
                return Err(self.error(token.start, format!("unsupported command {}", word.to_uppercase())));
            }
            _ => return Err(self.error(token.start, format!("unknown command {name}"))),
        };
        Ok(Command { kind, at: token.start })
    }

    /// DISSECT and GROK read a field (or a parenthesized expression) before their pattern.
    fn primary_for_pattern(&mut self) -> Result<Expr, EsqlError> {
        self.cast()
    }

    fn name_patterns(&mut self) -> Result<Vec<NamePattern>, EsqlError> {
        let mut patterns = vec![self.name_pattern(true)?];
        while self.eat_sym(",") {
            patterns.push(self.name_pattern(true)?);
        }
        Ok(patterns)
    }

    /// `old AS new` or `new = old`, comma separated.
    fn rename(&mut self) -> Result<CommandKind, EsqlError> {
        let mut pairs = Vec::new();
        loop {
            let first = self.name_pattern(false)?;
            if self.eat_keyword("as") {
                pairs.push((first, self.name_pattern(false)?));
            } else if self.eat_sym("=") {
                pairs.push((self.name_pattern(false)?, first));
            } else {
                return Err(self.expected("AS"));
            }
            if !self.eat_sym(",") {
                return Ok(CommandKind::Rename(pairs));
            }
        }
    }

    fn sort(&mut self) -> Result<CommandKind, EsqlError> {
        let mut keys = Vec::new();
        loop {
            let expr = self.expr()?;
            let descending = if self.eat_keyword("desc") {
                true
            } else {
                self.eat_keyword("asc");
                false
            };
            let mut nulls_first = None;
            if self.eat_keyword("nulls") {
                nulls_first = Some(if self.eat_keyword("first") {
                    true
                } else {
                    self.expect_keyword("last")?;
                    false
                });
            }
            keys.push(SortKey { expr, descending, nulls_first });
            if !self.eat_sym(",") {
                return Ok(CommandKind::Sort(keys));
            }
        }
    }

    /// Whether the next tokens are `name =` (and not `name ==`).
    fn at_assignment(&self) -> bool {
        matches!(self.peek().tok, Tok::Ident { .. }) && self.peek_at(1).is_sym("=")
    }

    fn assignment(&mut self) -> Result<Assign, EsqlError> {
        if self.at_assignment() {
            let Tok::Ident { name, .. } = self.advance().tok else { unreachable!("checked by at_assignment") };
            self.advance();
            return Ok(Assign { name, expr: self.expr()? });
        }
        let expr = self.expr()?;
        let name = match &expr.kind {
            ExprKind::Field(name) => name.clone(),
            _ => expr.text.clone(),
        };
        Ok(Assign { name, expr })
    }

    fn assignments(&mut self) -> Result<Vec<Assign>, EsqlError> {
        let mut list = vec![self.assignment()?];
        while self.eat_sym(",") {
            list.push(self.assignment()?);
        }
        Ok(list)
    }

    /// The outputs and BY groups of STATS and INLINE STATS.
    fn stats(&mut self) -> Result<(Vec<Aggregate>, Vec<Assign>), EsqlError> {
        let mut aggregates = Vec::new();
        if !self.peek().is_keyword("by") {
            loop {
                let Assign { name, expr } = self.assignment()?;
                let filter = if self.eat_keyword("where") { Some(self.expr()?) } else { None };
                aggregates.push(Aggregate { name, expr, filter });
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        let by = if self.eat_keyword("by") { self.assignments()? } else { Vec::new() };
        if aggregates.is_empty() && by.is_empty() {
            return Err(self.expected("an aggregate or BY"));
        }
        Ok((aggregates, by))
    }

    /// Builds a node spanning from byte `start` to the last token consumed.
    fn node(&self, kind: ExprKind, start: usize) -> Expr {
        let end = self.tokens[self.pos.saturating_sub(1)].end.max(start);
        Expr { kind, at: start, text: self.text[start..end].trim().to_string() }
    }

    pub(crate) fn expr(&mut self) -> Result<Expr, EsqlError> {
        let start = self.peek().start;
        let mut left = self.and()?;
        while self.eat_keyword("or") {
            let right = self.and()?;
            left = self.node(ExprKind::Binary(BinOp::Or, Box::new(left), Box::new(right)), start);
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, EsqlError> {
        let start = self.peek().start;
        let mut left = self.not()?;
        while self.eat_keyword("and") {
            let right = self.not()?;
            left = self.node(ExprKind::Binary(BinOp::And, Box::new(left), Box::new(right)), start);
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, EsqlError> {
        let start = self.peek().start;
        if self.eat_keyword("not") {
            let inner = self.not()?;
            return Ok(self.node(ExprKind::Not(Box::new(inner)), start));
        }
        self.predicate()
    }

    fn predicate(&mut self) -> Result<Expr, EsqlError> {
        let start = self.peek().start;
        let left = self.additive()?;
        let comparison = [
            ("==", BinOp::Eq),
            ("!=", BinOp::NotEq),
            ("<", BinOp::Lt),
            ("<=", BinOp::LtEq),
            (">", BinOp::Gt),
            (">=", BinOp::GtEq),
            ("=~", BinOp::EqIgnoreCase),
        ];
        if let Some(&(_, op)) = comparison.iter().find(|(sym, _)| self.peek().is_sym(sym)) {
            self.advance();
            let right = self.additive()?;
            return Ok(self.node(ExprKind::Binary(op, Box::new(left), Box::new(right)), start));
        }
        let negated =
            self.peek().is_keyword("not") && ["in", "like", "rlike"].iter().any(|w| self.peek_at(1).is_keyword(w));
        if negated {
            self.advance();
        }
        if self.eat_keyword("in") {
            self.expect_sym("(")?;
            let mut list = vec![self.expr()?];
            while self.eat_sym(",") {
                list.push(self.expr()?);
            }
            self.expect_sym(")")?;
            return Ok(self.node(ExprKind::In { expr: Box::new(left), list, negated }, start));
        }
        for (word, regex) in [("like", false), ("rlike", true)] {
            if self.eat_keyword(word) {
                let what = if regex { "a regular expression string" } else { "a pattern string" };
                let patterns = if self.eat_sym("(") {
                    let mut list = vec![self.string_literal(what)?];
                    while self.eat_sym(",") {
                        list.push(self.string_literal(what)?);
                    }
                    self.expect_sym(")")?;
                    list
                } else {
                    vec![self.string_literal(what)?]
                };
                return Ok(self.node(ExprKind::Match { expr: Box::new(left), patterns, negated, regex }, start));
            }
        }
        if self.eat_keyword("is") {
            let negated = self.eat_keyword("not");
            self.expect_keyword("null")?;
            return Ok(self.node(ExprKind::IsNull { expr: Box::new(left), negated }, start));
        }
        Ok(left)
    }

    fn additive(&mut self) -> Result<Expr, EsqlError> {
        let start = self.peek().start;
        let mut left = self.multiplicative()?;
        loop {
            let op = if self.eat_sym("+") {
                BinOp::Add
            } else if self.eat_sym("-") {
                BinOp::Sub
            } else {
                return Ok(left);
            };
            let right = self.multiplicative()?;
            left = self.node(ExprKind::Binary(op, Box::new(left), Box::new(right)), start);
        }
    }

    fn multiplicative(&mut self) -> Result<Expr, EsqlError> {
        let start = self.peek().start;
        let mut left = self.unary()?;
        loop {
            let op = if self.eat_sym("*") {
                BinOp::Mul
            } else if self.eat_sym("/") {
                BinOp::Div
            } else if self.eat_sym("%") {
                BinOp::Mod
            } else {
                return Ok(left);
            };
            let right = self.unary()?;
            left = self.node(ExprKind::Binary(op, Box::new(left), Box::new(right)), start);
        }
    }

    fn unary(&mut self) -> Result<Expr, EsqlError> {
        let start = self.peek().start;
        if self.eat_sym("-") {
            let inner = self.unary()?;
            return Ok(self.node(ExprKind::Neg(Box::new(inner)), start));
        }
        if self.eat_sym("+") {
            return self.unary();
        }
        self.cast()
    }

    fn cast(&mut self) -> Result<Expr, EsqlError> {
        let start = self.peek().start;
        let mut expr = self.primary()?;
        while self.eat_sym("::") {
            let Tok::Ident { name, .. } = self.peek().tok.clone() else { return Err(self.expected("a type name")) };
            self.advance();
            expr = self.node(ExprKind::Cast { expr: Box::new(expr), to: name.to_ascii_lowercase() }, start);
        }
        Ok(expr)
    }

    fn primary(&mut self) -> Result<Expr, EsqlError> {
        let token = self.peek().clone();
        let start = token.start;
        let kind = match &token.tok {
            Tok::Int(_) | Tok::Float(_) => {
                self.advance();
                // A number followed by a unit is a time span: `7 days`, `1 hour`.
                if let (Tok::Int(count), Tok::Ident { name, quoted: false }) = (&token.tok, &self.peek().tok)
                    && let Some(unit) = SpanUnit::parse(name)
                {
                    let count = *count;
                    self.advance();
                    ExprKind::Span(TimeSpan { count, unit })
                } else {
                    match token.tok {
                        Tok::Int(v) => ExprKind::Int(v),
                        Tok::Float(v) => ExprKind::Float(v),
                        _ => unreachable!("matched above"),
                    }
                }
            }
            Tok::Str(s) => {
                self.advance();
                ExprKind::Str(s.clone())
            }
            Tok::Sym("(") => {
                self.advance();
                let inner = self.expr()?;
                self.expect_sym(")")?;
                // Parentheses change only precedence; the node keeps their text for naming.
                return Ok(self.node(inner.kind, start));
            }
            Tok::Sym("?") => return Err(self.error(start, "unsupported construct: query parameters (?)")),
            Tok::Sym("[") => return Err(self.error(start, "unsupported construct: array literals")),
            Tok::Ident { name, quoted } => {
                let name = name.clone();
                let quoted = *quoted;
                self.advance();
                if !quoted && self.peek().is_sym("(") {
                    return self.call(name, start);
                }
                match name.to_ascii_lowercase().as_str() {
                    "null" if !quoted => ExprKind::Null,
                    "true" if !quoted => ExprKind::Bool(true),
                    "false" if !quoted => ExprKind::Bool(false),
                    _ => ExprKind::Field(name),
                }
            }
            _ => return Err(self.expected("an expression")),
        };
        Ok(self.node(kind, start))
    }

    fn call(&mut self, name: String, start: usize) -> Result<Expr, EsqlError> {
        self.expect_sym("(")?;
        let mut args = Vec::new();
        if self.peek().is_sym("*") && self.peek_at(1).is_sym(")") {
            let star = self.advance();
            args.push(Expr { kind: ExprKind::Star, at: star.start, text: "*".into() });
        } else if !self.peek().is_sym(")") {
            loop {
                args.push(self.expr()?);
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        self.expect_sym(")")?;
        Ok(self.node(ExprKind::Call { name: name.to_ascii_lowercase(), args }, start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_of_not_and_in() {
        let parsed = parse("from x | where not a in (1, 2) and b like \"x*\" or c is not null").unwrap();
        let CommandKind::Where(e) = &parsed.commands[0].kind else { panic!() };
        let ExprKind::Binary(BinOp::Or, left, _) = &e.kind else { panic!("{e:?}") };
        let ExprKind::Binary(BinOp::And, not, _) = &left.kind else { panic!("{left:?}") };
        assert!(matches!(&not.kind, ExprKind::Not(inner) if matches!(inner.kind, ExprKind::In { .. })));
    }

    #[test]
    fn index_patterns_and_metadata() {
        let parsed = parse("FROM logs-aws.cloudtrail-*, .alerts-security.* METADATA _id, _index").unwrap();
        assert_eq!(parsed.indices, ["logs-aws.cloudtrail-*", ".alerts-security.*"]);
        assert_eq!(parsed.metadata.iter().map(|m| m.pattern.as_str()).collect::<Vec<_>>(), ["_id", "_index"]);
    }

    #[test]
    fn inline_stats_in_both_spellings() {
        for text in ["from x | inline stats m = max(a) by b", "from x | INLINESTATS m = max(a) by b"] {
            let parsed = parse(text).unwrap();
            let CommandKind::InlineStats { aggregates, by } = &parsed.commands[0].kind else { panic!("{text}") };
            assert_eq!((aggregates[0].name.as_str(), by[0].name.as_str()), ("m", "b"));
        }
        assert!(parse("from x | inline m = max(a)").is_err(), "INLINE needs STATS");
    }

    #[test]
    fn unnamed_expressions_keep_their_text() {
        let parsed = parse("from x | stats count(*), max( a ) by b").unwrap();
        let CommandKind::Stats { aggregates, by } = &parsed.commands[0].kind else { panic!() };
        assert_eq!(aggregates[0].name, "count(*)");
        assert_eq!(aggregates[1].name, "max( a )");
        assert_eq!(by[0].name, "b");
    }
}
