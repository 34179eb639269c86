//! The JSON Schemas of request bodies (`schemas/` at the repository's top): the contract
//! integrators code against, served at `/v1/schemas/{name}` and used here to validate
//! every body at run time, each problem with the JSON pointer of its field.

use serde_json::Value;
use wangge_core::FieldError;

/// Every schema, by the name it is served under.
pub const SCHEMAS: &[(&str, &str)] = &[
    ("event.create", include_str!("../../../schemas/event.create.json")),
    ("hotline.work-orders", include_str!("../../../schemas/hotline.work-orders.json")),
    ("open311.request", include_str!("../../../schemas/open311.request.json")),
    ("key.create", include_str!("../../../schemas/key.create.json")),
    ("case.action", include_str!("../../../schemas/case.action.json")),
    ("categories", include_str!("../../../schemas/categories.json")),
    ("calendar", include_str!("../../../schemas/calendar.json")),
    ("assessment.rules", include_str!("../../../schemas/assessment.rules.json")),
];

/// The OpenAPI 3.1 document of the public API of all five functions.
pub const OPENAPI: &str = include_str!("../../../schemas/openapi.json");

/// A schema's text, by name (`event.create`, with or without `.json`).
pub fn text(name: &str) -> Option<&'static str> {
    let name = name.strip_suffix(".json").unwrap_or(name);
    SCHEMAS.iter().find(|(n, _)| *n == name).map(|(_, text)| *text)
}

/// At most this many problems are listed; the rest are counted.
pub const MAX_ERRORS: usize = 100;

/// Validates `instance` against the schema `name`. Formats (`date-time`) are checked.
pub fn validate(name: &str, instance: &Value) -> Result<(), Vec<FieldError>> {
    Checker::schema(name)?.check(instance, "")
}

/// Validates `instance` against the definition `$defs/<definition>` of schema `name`,
/// with pointers under `prefix` (`/orders/3`): one item of a batch on its own.
pub fn validate_definition(
    name: &str,
    definition: &str,
    instance: &Value,
    prefix: &str,
) -> Result<(), Vec<FieldError>> {
    Checker::definition(name, definition)?.check(instance, prefix)
}

/// A schema compiled once, to check many instances: the items of a batch.
pub struct Checker {
    validator: jsonschema::Validator,
}

impl Checker {
    /// The schema `name`.
    pub fn schema(name: &str) -> Result<Checker, Vec<FieldError>> {
        let Some(schema) = text(name).and_then(|t| serde_json::from_str::<Value>(t).ok()) else {
            return Err(vec![FieldError::new("", "schema_missing", format!("no schema `{name}`"))]);
        };
        Checker::compile(&schema)
    }

    /// The definition `$defs/<definition>` of schema `name`, in the schema's dialect.
    pub fn definition(name: &str, definition: &str) -> Result<Checker, Vec<FieldError>> {
        let Some(mut schema) = text(name).and_then(|t| serde_json::from_str::<Value>(t).ok()) else {
            return Err(vec![FieldError::new("", "schema_missing", format!("no schema `{name}`"))]);
        };
        let Some(mut item) = schema.get_mut("$defs").and_then(|d| d.get_mut(definition)).map(Value::take) else {
            return Err(vec![FieldError::new("", "schema_missing", format!("no `{definition}` in `{name}`"))]);
        };
        item["$schema"] = schema["$schema"].take();
        Checker::compile(&item)
    }

    fn compile(schema: &Value) -> Result<Checker, Vec<FieldError>> {
        match jsonschema::options().should_validate_formats(true).build(schema) {
            Ok(validator) => Ok(Checker { validator }),
            Err(e) => Err(vec![FieldError::new("", "schema_invalid", e.to_string())]),
        }
    }

    /// Every problem of `instance` (at most [`MAX_ERRORS`]), each with its JSON
    /// pointer under `prefix`.
    pub fn check(&self, instance: &Value, prefix: &str) -> Result<(), Vec<FieldError>> {
        let errors: Vec<FieldError> = self
            .validator
            .iter_errors(instance)
            .take(MAX_ERRORS)
            .map(|e| {
                FieldError::new(format!("{prefix}{}", e.instance_path()), e.kind().keyword().to_owned(), e.to_string())
            })
            .collect();
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_schema_compiles_and_openapi_parses() {
        for (name, text) in SCHEMAS {
            let schema: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(schema["$id"], format!("https://wangge.dev/schemas/{name}.json"));
        }
        let openapi: Value = serde_json::from_str(OPENAPI).unwrap();
        assert_eq!(openapi["openapi"], "3.1.0");
    }

    #[test]
    fn the_demo_reference_data_matches_its_schemas() {
        for (name, file) in [("categories", "categories.json"), ("calendar", "calendar-2026.json")] {
            let text = std::fs::read_to_string(format!("{}/../../data/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
            assert_eq!(validate(name, &serde_json::from_str(&text).unwrap()), Ok(()), "{file}");
        }
    }

    #[test]
    fn errors_carry_pointers_and_keywords() {
        let bad = json!({
            "source": "grid_staff",
            "reporter": {},
            "category": "x",
            "description": "",
            "location": { "address": "南通" },
            "attachments": ["ftp://a"]
        });
        let errors = validate("event.create", &bad).unwrap_err();
        let has = |pointer: &str, code: &str| errors.iter().any(|e| e.pointer == pointer && e.code == code);
        assert!(has("/category", "pattern"), "{errors:?}");
        assert!(has("/description", "minLength"), "{errors:?}");
        assert!(has("/attachments/0", "pattern"), "{errors:?}");
        // Grid staff must say when they found it, and who they are.
        assert!(has("", "required"), "{errors:?}");
        assert!(has("/reporter", "required"), "{errors:?}");
    }

    #[test]
    fn formats_are_checked() {
        let event = json!({
            "source": "resident", "reporter": {}, "category": "B05", "description": "垃圾",
            "location": { "lng": 120.9, "lat": 32.0 }, "discovered_at": "yesterday"
        });
        let errors = validate("event.create", &event).unwrap_err();
        assert_eq!(errors[0].pointer, "/discovered_at");
        assert_eq!(errors[0].code, "format");
    }

    #[test]
    fn one_order_of_a_batch_is_checked_with_its_own_pointers() {
        let order =
            json!({ "order_no": "GD1", "request_type": "投诉", "caller": {}, "address": "崇川区", "content": "x" });
        let errors = validate_definition("hotline.work-orders", "order", &order, "/orders/3").unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].pointer.as_str(), errors[0].code.as_str()), ("/orders/3", "required"));
    }

    #[test]
    fn a_good_event_passes() {
        let event = json!({
            "source": "grid_staff", "reporter": { "staff_id": "S1" }, "category": "B05", "description": "垃圾",
            "location": { "lng": 120.9, "lat": 32.0, "crs": "gcj02", "accuracy": 10 },
            "discovered_at": "2026-11-26T09:00:00+08:00", "attachments": ["https://img.example/1.jpg"]
        });
        assert_eq!(validate("event.create", &event), Ok(()));
    }
}
