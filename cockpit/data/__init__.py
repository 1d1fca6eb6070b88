"""Training data: loading with line-numbered errors (`load`) and the SOP step-0 audit (`audit`).

    from cockpit.data.load import load_training_data, LoadedData, DataError, RowProblem
    from cockpit.data.audit import audit, AuditReport, main
    from cockpit.data.template_check import measure, check_template, TemplateCheck
"""
