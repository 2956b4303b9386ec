from django.apps import AppConfig


class DiagnosisConfig(AppConfig):
    name = "diagnosis"
    verbose_name = "Diagnosis"

    def ready(self) -> None:
        from diagnosis.selectors import leaders_worked_on
        from retros.import_jobs import undo_guards

        if leaders_worked_on not in undo_guards:
            undo_guards.append(leaders_worked_on)
