"""Places and the organisation register under their former module name: ``places`` (countries,
cities, distance) and ``register`` (read, match, fill locations) hold the code; this module only
re-exports their public names, so code written against 0.1 (``geo.read_register``) keeps working.
"""

from .places import (CITY_LEVELS, EARTH_RADIUS_KM, city_key, city_keys,  # noqa: F401
                     country_code, country_codes, country_key, country_name, haversine_km, locate)
from .register import (ALIAS_SEPARATOR, LEGAL_FORMS, REGISTER_COLUMNS, REGISTER_HEADERS,  # noqa: F401
                       fill_locations, match_register, org_key, org_keys, read_register)
