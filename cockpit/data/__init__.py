"""Training data: loading with line-numbered errors (`load`) and the SOP step-0 audit (`audit`)."""
