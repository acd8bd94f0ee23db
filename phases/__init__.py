"""The phase catalog: the seed's four growth phases as validated data."""

from phases.catalog import PHASE_FILES, PHASE_NUMBERS, load_phase
from phases.models import Phase
from phases.settings import SettingsError, StackSettings, settings_from_config

__all__ = ["PHASE_FILES", "PHASE_NUMBERS", "Phase", "SettingsError", "StackSettings",
           "load_phase", "settings_from_config"]
