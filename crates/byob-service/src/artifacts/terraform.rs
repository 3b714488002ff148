//! Terraform built with hcl-rs's typed builders: values are data, never pasted into text.

use hcl::{Block, Body, Expression, expr::FuncCall};
use serde_json::Value;

/// `jsonencode(<value>)`.
pub(crate) fn jsonencode(value: &Value) -> Expression {
    let inner = hcl::to_expression(value).unwrap_or(Expression::Null);
    FuncCall::builder("jsonencode").arg(inner).build().into()
}

/// A value as an HCL expression.
pub(crate) fn expr(value: Value) -> Expression {
    hcl::to_expression(&value).unwrap_or(Expression::Null)
}

/// `terraform { required_providers { NAME = { source = SOURCE } } }`.
pub(crate) fn required_provider(name: &str, source: &str) -> Block {
    Block::builder("terraform")
        .add_block(
            Block::builder("required_providers")
                .add_attribute((name.to_string(), expr(serde_json::json!({ "source": source }))))
                .build(),
        )
        .build()
}

/// A reference such as `aws_iam_role.byob.id`: fixed identifiers only.
pub(crate) fn reference(path: &[&str]) -> Expression {
    use hcl::expr::{Traversal, Variable};
    let mut parts = path.iter();
    let Some(first) = parts.next() else { return Expression::Null };
    let Ok(root) = Variable::new(*first) else { return Expression::Null };
    let mut traversal = Traversal::builder(root);
    for part in parts {
        traversal = traversal.attr(*part);
    }
    traversal.build().into()
}

pub(crate) fn render(body: &Body) -> String {
    hcl::to_string(body).unwrap_or_default()
}
