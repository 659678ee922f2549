//! The parsed query. Every node keeps the byte offset where it starts, for errors, and
//! expressions keep their source text, which names unnamed EVAL and STATS columns as in ES|QL.

/// One ES|QL expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Expr {
    pub kind: ExprKind,
    /// Byte offset of the expression's first character.
    pub at: usize,
    /// The expression as written (trimmed).
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ExprKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A time span such as `7 days` or `1 hour`.
    Span(TimeSpan),
    Field(String),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    In {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    /// `LIKE` (wildcards) or `RLIKE` (a Lucene regular expression) with one or more patterns.
    Match {
        expr: Box<Expr>,
        patterns: Vec<String>,
        negated: bool,
        regex: bool,
    },
    /// A function call; `COUNT(*)` has the single argument `Star`.
    Call {
        name: String,
        args: Vec<Expr>,
    },
    Star,
    Cast {
        expr: Box<Expr>,
        to: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    And,
    Or,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    /// `=~`: equality ignoring case.
    EqIgnoreCase,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SpanUnit {
    Millisecond,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeSpan {
    pub count: i64,
    pub unit: SpanUnit,
}

impl SpanUnit {
    /// The unit a time-span word names (`7 days`, `1 hour`, `15 minutes`…).
    pub fn parse(word: &str) -> Option<SpanUnit> {
        Some(match word.to_ascii_lowercase().as_str() {
            "millisecond" | "milliseconds" | "ms" => SpanUnit::Millisecond,
            "second" | "seconds" | "sec" | "s" => SpanUnit::Second,
            "minute" | "minutes" | "min" => SpanUnit::Minute,
            "hour" | "hours" | "h" => SpanUnit::Hour,
            "day" | "days" | "d" => SpanUnit::Day,
            "week" | "weeks" | "w" => SpanUnit::Week,
            "month" | "months" | "mo" => SpanUnit::Month,
            "quarter" | "quarters" | "q" => SpanUnit::Quarter,
            "year" | "years" | "yr" | "y" => SpanUnit::Year,
            _ => return None,
        })
    }

    /// Milliseconds in one unit, for the units of fixed length.
    pub fn fixed_millis(self) -> Option<i64> {
        Some(match self {
            SpanUnit::Millisecond => 1,
            SpanUnit::Second => 1_000,
            SpanUnit::Minute => 60_000,
            SpanUnit::Hour => 3_600_000,
            SpanUnit::Day => 86_400_000,
            SpanUnit::Week => 7 * 86_400_000,
            SpanUnit::Month | SpanUnit::Quarter | SpanUnit::Year => return None,
        })
    }
}

/// `name = expr`, or an unnamed expression named by its text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Assign {
    pub name: String,
    pub expr: Expr,
}

/// One output of STATS: `name = agg(...) [WHERE condition]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Aggregate {
    pub name: String,
    pub expr: Expr,
    pub filter: Option<Expr>,
}

/// A column name or wildcard pattern in KEEP and DROP, as written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NamePattern {
    pub pattern: String,
    pub at: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SortKey {
    pub expr: Expr,
    pub descending: bool,
    pub nulls_first: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CommandKind {
    Where(Expr),
    Eval(Vec<Assign>),
    Stats {
        aggregates: Vec<Aggregate>,
        by: Vec<Assign>,
    },
    /// `INLINE STATS` (formerly `INLINESTATS`): STATS whose results join every input row.
    InlineStats {
        aggregates: Vec<Aggregate>,
        by: Vec<Assign>,
    },
    Keep(Vec<NamePattern>),
    Drop(Vec<NamePattern>),
    /// `old AS new` pairs.
    Rename(Vec<(NamePattern, NamePattern)>),
    Sort(Vec<SortKey>),
    Limit(u64),
    Dissect {
        input: Expr,
        pattern: String,
        append_separator: String,
    },
    Grok {
        input: Expr,
        pattern: String,
    },
    MvExpand(NamePattern),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Command {
    pub kind: CommandKind,
    /// Byte offset of the command's keyword.
    pub at: usize,
}

impl Command {
    /// Whether the command works on each row alone, so that it can run once for many
    /// scheduled runs of a query (see `window`).
    pub fn is_row_local(&self) -> bool {
        !matches!(
            self.kind,
            CommandKind::Stats { .. } | CommandKind::InlineStats { .. } | CommandKind::Sort(_) | CommandKind::Limit(_)
        )
    }

    /// Whether any expression of the command calls NOW().
    pub fn uses_now(&self) -> bool {
        let mut found = false;
        self.each_expr(&mut |e| found |= e.uses_now());
        found
    }

    /// For a WHERE, a WHERE of its conjuncts that do not call NOW(): a condition every row
    /// that passes it meets, whatever the run. `None` for other commands, or when every
    /// conjunct calls NOW().
    pub fn where_without_now(&self) -> Option<Command> {
        let CommandKind::Where(condition) = &self.kind else { return None };
        let kept = condition.conjuncts().into_iter().filter(|c| !c.uses_now()).cloned();
        Some(Command { kind: CommandKind::Where(Expr::all(kept)?), at: self.at })
    }

    fn each_expr<'e>(&'e self, visit: &mut impl FnMut(&'e Expr)) {
        match &self.kind {
            CommandKind::Where(e) | CommandKind::Dissect { input: e, .. } | CommandKind::Grok { input: e, .. } => {
                visit(e)
            }
            CommandKind::Eval(assignments) => assignments.iter().for_each(|a| visit(&a.expr)),
            CommandKind::Stats { aggregates, by } | CommandKind::InlineStats { aggregates, by } => {
                for a in aggregates {
                    visit(&a.expr);
                    if let Some(filter) = &a.filter {
                        visit(filter);
                    }
                }
                by.iter().for_each(|b| visit(&b.expr));
            }
            CommandKind::Sort(keys) => keys.iter().for_each(|k| visit(&k.expr)),
            CommandKind::Keep(_)
            | CommandKind::Drop(_)
            | CommandKind::Rename(_)
            | CommandKind::Limit(_)
            | CommandKind::MvExpand(_) => {}
        }
    }
}

impl Expr {
    /// The operands of the condition's top-level ANDs (the condition itself when it is no AND).
    pub fn conjuncts(&self) -> Vec<&Expr> {
        match &self.kind {
            ExprKind::Binary(BinOp::And, left, right) => {
                let mut all = left.conjuncts();
                all.extend(right.conjuncts());
                all
            }
            _ => vec![self],
        }
    }

    /// The AND of the conditions; `None` for none.
    pub fn all(conditions: impl IntoIterator<Item = Expr>) -> Option<Expr> {
        conditions.into_iter().reduce(|a, b| Expr {
            at: a.at,
            text: format!("{} AND {}", a.text, b.text),
            kind: ExprKind::Binary(BinOp::And, Box::new(a), Box::new(b)),
        })
    }

    /// Whether the expression calls NOW().
    pub fn uses_now(&self) -> bool {
        let mut found = false;
        self.walk(&mut |x| found |= matches!(&x.kind, ExprKind::Call { name, .. } if name == "now"));
        found
    }

    /// Calls `visit` on this expression and every expression inside it.
    pub fn walk<'e>(&'e self, visit: &mut impl FnMut(&'e Expr)) {
        visit(self);
        match &self.kind {
            ExprKind::Not(e) | ExprKind::Neg(e) | ExprKind::Cast { expr: e, .. } => e.walk(visit),
            ExprKind::IsNull { expr, .. } | ExprKind::Match { expr, .. } => expr.walk(visit),
            ExprKind::Binary(_, l, r) => {
                l.walk(visit);
                r.walk(visit);
            }
            ExprKind::In { expr, list, .. } => {
                expr.walk(visit);
                list.iter().for_each(|e| e.walk(visit));
            }
            ExprKind::Call { args, .. } => args.iter().for_each(|e| e.walk(visit)),
            ExprKind::Null
            | ExprKind::Bool(_)
            | ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Str(_)
            | ExprKind::Span(_)
            | ExprKind::Field(_)
            | ExprKind::Star => {}
        }
    }
}
