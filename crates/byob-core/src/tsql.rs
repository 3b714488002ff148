//! Whether an export's own T-SQL only reads. SQL Server has no read-only transaction, so byob reads the query
//! word by word (outside strings, quoted names and comments) before it runs: one statement, none of T-SQL's
//! reserved words that write or run other code (`INSERT`, `INTO`, `EXEC`, `COMMIT`, …), no `NEXT VALUE FOR`
//! (which advances a sequence whatever the transaction does). SQL Server's functions cannot change data, so a
//! query that passes only reads; it also runs in a transaction byob rolls back. Reserved words cannot be bare
//! names in T-SQL, so a query SQL Server accepts is refused only when it would write — or when such a word
//! names a column, which then goes in brackets (`[update]`).
//!
//! No parser serves here: sqlparser's T-SQL dialect refuses much of what SQL Server runs, and a refusal of a
//! valid query is worse than this narrow check, which needs only T-SQL's lexical rules.

use crate::location::FieldError;

/// The reserved words no reading statement has.
const WRITING_WORDS: &[&str] = &[
    "ALTER",
    "BACKUP",
    "BEGIN",
    "BULK",
    "CHECKPOINT",
    "COMMIT",
    "CREATE",
    "DBCC",
    "DECLARE",
    "DELETE",
    "DENY",
    "DROP",
    "EXEC",
    "EXECUTE",
    "GRANT",
    "INSERT",
    "INTO",
    "KILL",
    "MERGE",
    "OPENDATASOURCE",
    "OPENQUERY",
    "OPENROWSET",
    "RECONFIGURE",
    "RESTORE",
    "REVERT",
    "REVOKE",
    "ROLLBACK",
    "SAVE",
    "SET",
    "SETUSER",
    "SHUTDOWN",
    "TRAN",
    "TRANSACTION",
    "TRUNCATE",
    "UPDATE",
    "UPDATETEXT",
    "USE",
    "WAITFOR",
    "WRITETEXT",
];

/// A word of the query outside strings, quoted names and comments, upper-cased; `;` as a word of its own.
fn words(sql: &str) -> Result<Vec<String>, &'static str> {
    let chars: Vec<char> = sql.chars().collect();
    let mut words = Vec::new();
    let mut i = 0;
    // The end of a quoted part opened at `i` by `open`, whose closing character `close` is escaped by doubling.
    let skip_quoted = |i: usize, close: char| -> Option<usize> {
        let mut j = i + 1;
        while j < chars.len() {
            if chars[j] == close {
                if chars.get(j + 1) == Some(&close) {
                    j += 2;
                    continue;
                }
                return Some(j + 1);
            }
            j += 1;
        }
        None
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' => i = skip_quoted(i, '\'').ok_or("a string is not closed")?,
            '"' => i = skip_quoted(i, '"').ok_or("a quoted name is not closed")?,
            '[' => i = skip_quoted(i, ']').ok_or("a bracketed name is not closed")?,
            '-' if chars.get(i + 1) == Some(&'-') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                // T-SQL's block comments nest.
                let mut depth = 0usize;
                loop {
                    match (chars.get(i), chars.get(i + 1)) {
                        (Some('/'), Some('*')) => (depth, i) = (depth + 1, i + 2),
                        (Some('*'), Some('/')) => {
                            (depth, i) = (depth - 1, i + 2);
                            if depth == 0 {
                                break;
                            }
                        }
                        (Some(_), _) => i += 1,
                        (None, _) => return Err("a comment is not closed"),
                    }
                }
            }
            ';' => {
                words.push(";".to_string());
                i += 1;
            }
            c if c.is_alphanumeric() || matches!(c, '_' | '@' | '#' | '$') => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '@' | '#' | '$')) {
                    i += 1;
                }
                words.push(chars[start..i].iter().collect::<String>().to_uppercase());
            }
            _ => i += 1,
        }
    }
    Ok(words)
}

/// Refuses T-SQL that is not one statement that only reads, saying what it found.
///
/// # Errors
/// [`FieldError`] with rule `export-query-not-read-only`.
pub fn check_read_only(field: &str, sql: &str) -> Result<(), FieldError> {
    let refuse = |what: String| {
        Err(FieldError::new(
            field,
            crate::rules::EXPORT_QUERY_NOT_READ_ONLY,
            format!("exports only read, and SQL Server has no read-only transaction: {what}"),
        ))
    };
    let words = match words(sql) {
        Ok(words) => words,
        Err(why) => return refuse(format!("{why}; send one complete SELECT")),
    };
    match words.first().map(String::as_str) {
        Some("SELECT" | "WITH") => {}
        Some(first) => return refuse(format!("the query begins with `{first}`; send one SELECT (or WITH … SELECT)")),
        None => return refuse("the query holds no statement; send one SELECT".into()),
    }
    let end = words.iter().rposition(|w| w != ";").map_or(0, |last| last + 1);
    if words[..end].iter().any(|w| w == ";") {
        return refuse("the query holds more than one statement; send one SELECT".into());
    }
    if let Some(word) = words.iter().find(|w| WRITING_WORDS.contains(&w.as_str())) {
        return refuse(format!(
            "the query uses `{word}`, which no reading statement does (a column of that name goes in brackets: \
             `[{}]`)",
            word.to_lowercase()
        ));
    }
    if words.windows(2).any(|pair| pair[0] == "NEXT" && pair[1] == "VALUE") {
        return refuse("`NEXT VALUE FOR` advances a sequence; select the sequence's `current_value` instead".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(sql: &str) -> String {
        check_read_only("query", sql).err().map(|e| e.message).unwrap_or_default()
    }

    #[test]
    fn reading_queries_pass_whatever_their_strings_names_and_comments_hold() {
        for sql in [
            "SELECT TOP (10) id, amount FROM dbo.sales ORDER BY id",
            "SELECT [update], [into] FROM [dbo].[weird]]name] WHERE note = N'INSERT INTO x; DROP TABLE y'",
            "WITH a AS (SELECT 1 AS n) SELECT n FROM a;",
            "SELECT \"exec\" FROM t -- DELETE FROM t\n WHERE x = 'it''s'",
            "/* outer /* DROP */ still comment */ SELECT CASE WHEN a > 1 THEN 'b' END FROM t",
            "SELECT * FROM t ORDER BY id OFFSET 10 ROWS FETCH NEXT 5 ROWS ONLY",
            "SELECT 1 UNION ALL SELECT 2",
        ] {
            assert_eq!(refusal(sql), "", "{sql}");
        }
    }

    #[test]
    fn writing_or_code_running_queries_are_refused_by_what_they_use() {
        for (sql, named) in [
            ("SELECT * INTO dbo.copy FROM dbo.sales", "`INTO`"),
            ("SELECT 1; DELETE FROM t", "more than one statement"),
            ("SELECT 1 DELETE FROM t", "`DELETE`"),
            ("SELECT 1; COMMIT; SELECT 2", "more than one statement"),
            ("SELECT * FROM OPENROWSET('SQLNCLI', 'x', 'y')", "`OPENROWSET`"),
            ("SELECT 1 WAITFOR DELAY '01:00:00'", "`WAITFOR`"),
            ("select next value for dbo.seq", "`NEXT VALUE FOR`"),
            ("SELECT 'unclosed", "a string is not closed"),
            ("SELECT 1 /* unclosed", "a comment is not closed"),
            ("EXEC sp_who", "`EXEC`"),
            ("-- only a comment", "no statement"),
            ("VALUES (1)", "`VALUES`"),
        ] {
            let message = refusal(sql);
            assert!(message.contains(named) && message.contains("exports only read"), "{sql}: {message}");
        }
    }
}
