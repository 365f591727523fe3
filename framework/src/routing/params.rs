//! A matched route's path parameters (`{id}` in `/users/{id}`), kept without copying: the
//! names are the route template's, shared by every request of the route, and the values are
//! ranges of the request's own path.

use std::ops::Range;
use std::sync::Arc;

use smallvec::SmallVec;

/// The parameter names of a route template, in the order they appear.
pub(crate) type ParamNames = Arc<[Box<str>]>;

/// The parameter names of `template`: `{name}` and `{*name}`; `{{` and `}}` are literal
/// braces (the template syntax of `matchit`).
pub(crate) fn param_names(template: &str) -> ParamNames {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        if let Some(literal) = after.strip_prefix('{') {
            rest = literal;
            continue;
        }
        let Some(close) = after.find('}') else { break };
        names.push(after[..close].trim_start_matches('*').into());
        rest = &after[close + 1..];
    }
    names.into()
}

/// The parameters of one request: for each, its name's index in the route's names and the
/// byte range of its value in the request path.
#[derive(Debug, Clone, Default)]
pub(crate) struct PathParams {
    names: Option<ParamNames>,
    values: SmallVec<[(u16, Range<u32>); 4]>,
}

impl PathParams {
    /// The parameters `matchit` found in `path`, whose values are slices of `path`.
    pub fn matched<'p>(
        names: &ParamNames,
        path: &'p str,
        found: impl Iterator<Item = (&'p str, &'p str)>,
    ) -> Self {
        let mut values = SmallVec::new();
        for (name, value) in found {
            let start = value.as_ptr() as usize - path.as_ptr() as usize;
            let index = names.iter().position(|known| &**known == name);
            debug_assert!(index.is_some(), "parameter {name} is not in its template");
            if let Some(index) = index {
                let end = start + value.len();
                values.push((index as u16, start as u32..end as u32));
            }
        }
        PathParams {
            names: Some(names.clone()),
            values,
        }
    }

    /// The value of parameter `name` in `path`, the request path the parameters were found in.
    pub fn get<'p>(&self, path: &'p str, name: &str) -> Option<&'p str> {
        let names = self.names.as_ref()?;
        let index = names.iter().position(|known| &**known == name)?;
        let (_, range) = self
            .values
            .iter()
            .find(|(at, _)| usize::from(*at) == index)?;
        path.get(range.start as usize..range.end as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_template_in_order() {
        let names = param_names("/users/{id}/posts/{post}/{*rest}");
        assert_eq!(
            &*names,
            ["id".into(), "post".into(), "rest".into()] as [Box<str>; 3]
        );
        assert!(param_names("/plain/{{literal}}").is_empty());
    }

    #[test]
    fn values_are_read_from_the_path_they_were_found_in() {
        let names = param_names("/users/{id}/posts/{post}");
        let mut router = matchit::Router::new();
        router.insert("/users/{id}/posts/{post}", ()).unwrap();
        let path = "/users/42/posts/hello%20world";
        let found = router.at(path).unwrap();
        let params = PathParams::matched(&names, path, found.params.iter());
        assert_eq!(params.get(path, "id"), Some("42"));
        assert_eq!(params.get(path, "post"), Some("hello%20world"));
        assert_eq!(params.get(path, "other"), None);
        assert_eq!(PathParams::default().get(path, "id"), None);
    }
}
