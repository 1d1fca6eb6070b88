"""Training data: loading with line-numbered errors (`load`) and the SOP step-0 audit (`audit`).

    from cockpit.data.load import load_training_data, LoadedData, DataError, RowProblem
    from cockpit.data.audit import audit, main
    from cockpit.data.audit_report import AuditReport, DataFinding
    from cockpit.data.template_check import measure, check_template, TemplateCheck

Loading: `records` reads a file's records (JSONL, JSON array, parquet, datasets folder), `rows` turns a
record into a TRL row, `problems` holds the errors. The audit: `templating` (question 2), `style`
(question 4), `starting_point` (the SOP's start), `template_check` (the chat template), `render` (text).
"""
