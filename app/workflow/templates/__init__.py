"""Customer message templates: the catalogue, our texts per language, tenants' overrides, and
a sandboxed renderer. ``catalogue`` says what exists, ``library`` which text is used,
``context`` what a template sees, ``renderer`` how it is rendered safely."""
