"""Entra ID sign-in records in the Azure Monitor diagnostic-settings export envelope."""

from __future__ import annotations

import json
import random

from auditor_sandbox import catalog
from auditor_sandbox.catalog import City
from auditor_sandbox.records import fast_uuid, frag, q
from auditor_sandbox.tenant import Person, Tenant
from auditor_sandbox.writers import iso_ms


class EntraRecords:
    """Entra sign-in records in the Azure diagnostic-settings (Event Hub / storage) envelope.

    Built from cached pre-encoded fragments (per person, device, city and app): sign-ins are the
    second-largest stream and json.dumps of the nested record dominated generation time.
    """

    def __init__(self, tenant: Tenant) -> None:
        self.tenant_id = tenant.tenant_id
        self._envelope = frag(
            resourceId=f"/tenants/{tenant.tenant_id}/providers/Microsoft.aadiam",
            operationName="Sign-in activity",
            operationVersion="1.0",
        )
        self._tenant_ids = frag(homeTenantId=tenant.tenant_id, resourceTenantId=tenant.tenant_id)
        self._people: dict[int, tuple[str, str, str]] = {}
        self._devices: dict[tuple[str, str, str], str] = {}
        self._cities: dict[str, str] = {}
        self._apps = {app: frag(appId=app_id, appDisplayName=app) for app, app_id in catalog.APPS.items()}

    def _person(self, p: Person) -> tuple[str, str, str]:
        cached = self._people.get(p.index)
        if cached is None:
            cached = (
                frag(userDisplayName=p.display_name, userPrincipalName=p.upn, userId=p.object_id),
                frag(userType=p.user_type),
                q(p.display_name),
            )
            self._people[p.index] = cached
        return cached

    def _device(self, device: tuple[str, str, str]) -> str:
        cached = self._devices.get(device)
        if cached is None:
            cached = frag(
                userAgent=device[2], deviceDetail={"deviceId": "", "operatingSystem": device[0], "browser": device[1]}
            )
            self._devices[device] = cached
        return cached

    def _city(self, city: City) -> str:
        cached = self._cities.get(city.name)
        if cached is None:
            cached = frag(
                location={
                    "city": city.name,
                    "state": city.state,
                    "countryOrRegion": city.country,
                    "geoCoordinates": {"latitude": city.lat, "longitude": city.lon},
                }
            )
            self._cities[city.name] = cached
        return cached

    def signin(
        self,
        rng: random.Random,
        person: Person,
        ts: int,
        app: str,
        city: City,
        ip: str,
        *,
        interactive: bool = True,
        error: int = 0,
        risk: str = "none",
        risk_events: tuple[str, ...] = (),
        device: tuple[str, str, str] | None = None,
        mfa: bool | None = None,
    ) -> str:
        """One sign-in: `time` with 7 fraction digits, properties as Graph's signIn resource; `mfa` forces the
        authentication requirement (else it is drawn)."""
        who, user_type, identity = self._person(person)
        stamp = f"{iso_ms(ts)[:-1]}{rng.randrange(10_000):04d}"
        request_id, correlation = fast_uuid(rng), fast_uuid(rng)
        drawn = interactive and rng.random() < 0.35  # drawn even when `mfa` is given: the stream stays put
        mfa = drawn if mfa is None else mfa
        status = (
            '{"errorCode":0}'
            if error == 0
            else f'{{"errorCode":{error},"failureReason":"Invalid username or password or Invalid on-premise '
            'username or password."}'
        )
        events = json.dumps(list(risk_events)) if risk_events else "[]"
        props = (
            f'"id":"{request_id}","createdDateTime":"{stamp}+00:00",{who},{self._apps[app]},"ipAddress":"{ip}",'
            f'"status":{status},"clientAppUsed":"{"Browser" if interactive else "Mobile Apps and Desktop clients"}",'
            f'{self._device(device or person.device)},{self._city(city)},"correlationId":"{correlation}",'
            f'"conditionalAccessStatus":"{"success" if error == 0 else "notApplied"}",'
            f'"isInteractive":{"true" if interactive else "false"},"riskDetail":"none",'
            f'"riskLevelAggregated":"{risk}","riskLevelDuringSignIn":"{risk}",'
            f'"riskState":"{"atRisk" if risk != "none" else "none"}","riskEventTypes":{events},'
            f'"riskEventTypes_v2":{events},"resourceDisplayName":"{app}","authenticationRequirement":'
            f'"{"multiFactorAuthentication" if mfa else "singleFactorAuthentication"}",{user_type},{self._tenant_ids}'
        )
        return (
            f'{{"time":"{stamp}Z",{self._envelope},'
            f'"category":"{"SignInLogs" if interactive else "NonInteractiveUserSignInLogs"}",'
            f'"tenantId":"{self.tenant_id}","resultType":"{error}","resultSignature":"None","durationMs":0,'
            f'"callerIpAddress":"{ip}","correlationId":"{correlation}","identity":{identity},"Level":4,'
            f'"location":"{city.country}","properties":{{{props}}}}}\n'
        )
