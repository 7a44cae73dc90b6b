//! The `--env-file` format: values are literal, as with `docker run --env-file`.
//!
//! ```text
//! # a comment line          (ignored, as are blank lines)
//! KEY=VALUE                 VALUE is everything after the first `=`, spaces around it trimmed
//! export KEY=VALUE          an optional `export ` prefix, so the file can also be sourced
//! KEY="a value"             one pair of surrounding double quotes is removed
//! KEY='a value'             one pair of surrounding single quotes is removed
//! ```
//!
//! Nothing else is interpreted: no `$NAME` expansion, no escape sequences, no inline `#`
//! comments, one variable per line. `PASSWORD=pa$word#1` arrives as `pa$word#1`. (dotenv
//! crates expand `$NAME` from the host environment, which loses such values and leaks
//! host variables into the app; this format is the CLI's own input, so it is parsed here.)

use std::path::Path;

use crate::ui::errors::{hint, HintExt as _};

/// What `run --help` and errors say about the format.
pub const FORMAT_HELP: &str = "each line is KEY=VALUE (surrounding quotes removed, no $ expansion); blank lines and lines starting with # are ignored";

/// The variables in `file`, in order. Errors name the file and the line number.
pub fn read(file: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let bytes = std::fs::read(file).hint_context(
        format!("could not read the env file `{}`", file.display()),
        "pass an existing file of KEY=VALUE lines",
    )?;
    let text = String::from_utf8(bytes).map_err(|error| {
        let line = 1 + error.as_bytes()[..error.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&byte| byte == b'\n')
            .count();
        hint(
            format!(
                "the env file `{}` is not UTF-8 text (line {line})",
                file.display()
            ),
            "save it as UTF-8",
        )
    })?;
    parse(&text).map_err(|(line, why)| {
        hint(
            format!(
                "could not parse the env file `{}`: line {line}: {why}",
                file.display()
            ),
            FORMAT_HELP,
        )
    })
}

/// Parse the format above; an error is (1-based line number, what is wrong).
pub fn parse(text: &str) -> Result<Vec<(String, String)>, (usize, String)> {
    let mut variables = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let Some((key, value)) = line.split_once('=') else {
            return Err((number, format!("expected KEY=VALUE, found `{line}`")));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err((number, "the variable name is empty".to_owned()));
        }
        if key.chars().any(|c| c.is_whitespace() || c == '\0') {
            return Err((
                number,
                format!("the variable name `{key}` contains whitespace"),
            ));
        }
        variables.push((
            key.to_owned(),
            unquote(value.trim()).map_err(|why| (number, why))?,
        ));
    }
    Ok(variables)
}

/// Remove one pair of surrounding quotes of the same kind; the text between is kept as is.
fn unquote(value: &str) -> Result<String, String> {
    for quote in ['"', '\''] {
        if let Some(rest) = value.strip_prefix(quote) {
            return match rest.strip_suffix(quote) {
                Some(inner) => Ok(inner.to_owned()),
                None => Err(format!(
                    "the value starts with {quote} but does not end with it (values are one line; no comments after a value)"
                )),
            };
        }
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn values_are_literal() {
        let text =
            "PASSWORD=pa$word123\nX=\"k$HOME\"\nY='${HOME}'\nZ=a\\nb\nHASH=a#b # not a comment\n";
        assert_eq!(
            parse(text).unwrap(),
            pairs(&[
                ("PASSWORD", "pa$word123"),
                ("X", "k$HOME"),
                ("Y", "${HOME}"),
                ("Z", "a\\nb"),
                ("HASH", "a#b # not a comment"),
            ])
        );
    }

    #[test]
    fn comments_blanks_export_quotes_and_spaces() {
        let text = "# comment\n\n   \n  # indented comment\nexport A=1\r\nB = two words \nC=\" padded \"\nD='it''s'\nE=\nF=\"\"\nG==x=\nH=\"\n";
        let parsed = parse(text);
        assert_eq!(parsed, Err((12, parse("H=\"").unwrap_err().1)));
        let text = text.trim_end_matches("H=\"\n");
        assert_eq!(
            parse(text).unwrap(),
            pairs(&[
                ("A", "1"),
                ("B", "two words"),
                ("C", " padded "),
                ("D", "it''s"),
                ("E", ""),
                ("F", ""),
                ("G", "=x="),
            ])
        );
    }

    #[test]
    fn errors_name_the_line() {
        for (text, line, why) in [
            ("A=1\nnot a pair\n", 2, "expected KEY=VALUE"),
            ("A=1\n\n=x\n", 3, "the variable name is empty"),
            ("MY VAR=1\n", 1, "contains whitespace"),
            (
                "A=1\nB='open\n",
                2,
                "starts with ' but does not end with it",
            ),
            (
                "A=\"x\" # c\n",
                1,
                "starts with \" but does not end with it",
            ),
        ] {
            let (got_line, got_why) = parse(text).unwrap_err();
            assert_eq!(got_line, line, "{text:?}");
            assert!(got_why.contains(why), "{text:?}: {got_why}");
        }
    }
}
