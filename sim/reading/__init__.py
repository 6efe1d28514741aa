"""Reading results: analysis, figures, reports and translations, from data frames only (never the
model, Mesa or the scenario parser)."""
