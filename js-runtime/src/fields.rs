//! Header fields as scripts see them, shared by `wasi_http` and `http` (fetch): a list of
//! `(name, value)` strings in order, read from and written to plain JS objects, and turned
//! into wasock's `HeaderMap` with a `TypeError` naming a bad field.

use rquickjs::{Ctx, Exception, Object, Result, Value};
use wasock::http::{HeaderMap, HeaderName, HeaderValue};

/// Header fields as scripts see them: names and values as strings, in order.
pub(crate) type Fields = Vec<(String, String)>;

/// A message's fields in order of first appearance; a repeated name's values joined with
/// `, ` (RFC 9110 §5.3). Values that are not UTF-8 are decoded lossily.
pub(crate) fn fields_of(headers: &HeaderMap) -> Fields {
    let mut fields: Fields = Vec::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match fields.iter_mut().find(|(known, _)| known == name.as_str()) {
            Some((_, joined)) => {
                joined.push_str(", ");
                joined.push_str(&value);
            }
            None => fields.push((name.as_str().to_string(), value)),
        }
    }
    fields
}

/// Every field line of `headers` as a `[name, value]` pair, repeats kept apart and in
/// order (what the web globals' `Headers` is built from: it combines repeats itself, and
/// `getSetCookie` needs them apart). Values that are not UTF-8 are decoded lossily.
pub(crate) fn field_pairs(headers: &HeaderMap) -> Vec<Vec<String>> {
    headers
        .iter()
        .map(|(name, value)| {
            vec![
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            ]
        })
        .collect()
}

/// A plain object `{ name: value }` of `fields`.
pub(crate) fn fields_object<'js>(ctx: &Ctx<'js>, fields: &Fields) -> Result<Object<'js>> {
    let object = Object::new(ctx.clone())?;
    for (name, value) in fields {
        object.set(name.as_str(), value.as_str())?;
    }
    Ok(object)
}

/// The fields of a script's object, in property order; values coerced to strings.
pub(crate) fn fields_from_object<'js>(object: Object<'js>) -> Result<Fields> {
    let mut fields = Fields::new();
    for entry in object.props::<String, Value>() {
        let (name, value) = entry?;
        let value = match value.as_string() {
            Some(text) => text.to_string()?,
            None => value
                .get::<rquickjs::Coerced<String>>()
                .map(|coerced| coerced.0)?,
        };
        fields.push((name, value));
    }
    Ok(fields)
}

/// A header map from script fields; a `TypeError` naming the bad field.
pub(crate) fn header_map<'js>(ctx: &Ctx<'js>, fields: &Fields, what: &str) -> Result<HeaderMap> {
    let mut map = HeaderMap::new();
    for (name, value) in fields {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            Exception::throw_type(ctx, &format!("{what}: `{name}` is not a valid header name"))
        })?;
        let value = HeaderValue::from_str(value).map_err(|_| {
            Exception::throw_type(
                ctx,
                &format!("{what}: the value of `{name}` is not a valid header value"),
            )
        })?;
        map.append(name, value);
    }
    Ok(map)
}

/// Replaces every field named `name` (any case) with one `name: value`.
pub(crate) fn set_field(fields: &mut Fields, name: &str, value: String) {
    fields.retain(|(known, _)| !known.eq_ignore_ascii_case(name));
    fields.push((name.to_string(), value));
}

/// The first value of the field named `name` (any case).
pub(crate) fn get_field(fields: &Fields, name: &str) -> Option<String> {
    fields
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.clone())
}
