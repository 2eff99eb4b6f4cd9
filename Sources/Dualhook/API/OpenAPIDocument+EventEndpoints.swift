import Foundation

/// The event endpoints' shapes.
extension OpenAPIDocument {
    static var eventTypeList: [String: Any] {
        ["type": "array", "maxItems": EventEndpointRoutes.maxFilterEntries, "items": ["type": "string", "enum": EventRoutes.types]]
    }
    static var tenantList: [String: Any] {
        ["type": "array", "maxItems": EventEndpointRoutes.maxFilterEntries,
         "items": ["type": "string", "minLength": 1, "maxLength": 128, "pattern": visibleText]]
    }

    static var eventEndpointSchemas: [String: Any] { [
        "EventEndpoint": ["type": "object",
                          "required": ["endpointId", "url", "description", "eventTypes", "tenantIds", "status", "disabledReason", "disabledAt",
                                       "rateLimitPerSecond", "isDefault", "health", "createdAt", "previousSecretsExpireAt"],
                          "properties": eventEndpointProperties],
        "EventEndpointWithSecret": ["type": "object",
                                    "required": ["endpointId", "url", "eventTypes", "tenantIds", "status", "isDefault", "createdAt",
                                                 "secret", "previousSecretsExpireAt"],
                                    "properties": eventEndpointProperties.merging(["secret": ["type": "string"]]) { $1 }],
        "EventEndpointPage": ["type": "object", "required": ["data", "nextCursor"], "properties": [
            "data": ["type": "array", "items": ["$ref": "#/components/schemas/EventEndpoint"]], "nextCursor": nullableString]],
        "EventEndpointCreate": ["type": "object", "additionalProperties": false, "required": ["url"], "properties": [
            "url": ["type": "string", "format": "uri", "maxLength": 2048],
            "description": ["type": ["string", "null"], "minLength": 1, "maxLength": 500],
            "eventTypes": eventTypeList, "tenantIds": tenantList,
            "rateLimitPerSecond": ["type": ["integer", "null"], "minimum": 1, "maximum": 1000]]],
        "EventEndpointUpdate": ["type": "object", "additionalProperties": false, "properties": [
            "url": ["type": "string", "format": "uri", "maxLength": 2048],
            "description": ["type": ["string", "null"], "minLength": 1, "maxLength": 500],
            // `null` clears a filter, as `[]` does.
            "eventTypes": eventTypeList.merging(["type": ["array", "null"]]) { $1 },
            "tenantIds": tenantList.merging(["type": ["array", "null"]]) { $1 },
            "rateLimitPerSecond": ["type": ["integer", "null"], "minimum": 1, "maximum": 1000],
            "status": ["type": "string", "enum": EventEndpoint.Status.allCases.map(\.rawValue)]]],
        "EventEndpointRotate": ["type": "object", "additionalProperties": false, "properties": [
            "overlapSeconds": ["type": "integer", "minimum": 0, "maximum": Int(EventEndpointRoutes.maxOverlap)]]],
        "EventEndpointRecover": ["type": "object", "additionalProperties": false, "required": ["since"], "properties": [
            "since": timestamp, "until": timestamp, "types": eventTypeList, "onlyUndelivered": ["type": "boolean"]]],
        "EventEndpointDeleted": ["type": "object", "required": ["endpointId", "deleted"], "properties": [
            "endpointId": ["type": "string"], "deleted": ["type": "boolean"]]],
        "EndpointTest": ["type": "object", "required": ["endpointId", "eventId"], "properties": [
            "endpointId": ["type": "string"], "eventId": ["type": "string"]]],
        "Recovery": ["type": "object", "required": ["endpointId", "queued"], "properties": [
            "endpointId": ["type": "string"], "queued": ["type": "integer"]]],
        "RedeliverRequest": ["type": "object", "additionalProperties": false, "properties": [
            "endpointId": ["type": "string", "minLength": 1, "maxLength": 64]]],
        "Redelivery": ["type": "object", "required": ["eventId", "deliveryStatus", "endpointIds"], "properties": [
            "eventId": ["type": "string"], "deliveryStatus": ["type": "string", "enum": ["pending", "no_endpoint"]],
            "endpointIds": ["type": "array", "items": ["type": "string"]]]],
    ] }

    static var eventEndpointProperties: [String: Any] { [
        "endpointId": ["type": "string"], "url": ["type": "string"], "description": nullableString,
        "eventTypes": ["type": "array", "items": ["type": "string"]], "tenantIds": ["type": "array", "items": ["type": "string"]],
        "status": ["type": "string", "enum": EventEndpoint.Status.allCases.map(\.rawValue)],
        "disabledReason": ["type": ["string", "null"], "enum": EventEndpoint.DisabledReason.allCases.map(\.rawValue) + [NSNull()]],
        "disabledAt": nullableTimestamp, "rateLimitPerSecond": ["type": ["integer", "null"]], "isDefault": ["type": "boolean"],
        "health": ["type": "object", "required": ["status", "failingSince", "lastError", "lastSuccessAt"], "properties": [
            "status": ["type": "string", "enum": ["healthy", "failing"]],
            "failingSince": nullableTimestamp, "lastError": nullableString, "lastSuccessAt": nullableTimestamp]],
        "createdAt": timestamp, "previousSecretsExpireAt": nullableTimestamp,
    ] }
}
