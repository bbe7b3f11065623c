"""The living documentation: evidence of each step, the HTML report, plots, diagrams."""
