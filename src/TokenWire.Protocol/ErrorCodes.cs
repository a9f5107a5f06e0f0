namespace TokenWire.Protocol;

/// <summary>
/// Every Ably error code TokenWire emits (ably-common protocol/errors.json, reference §7).
/// 400xx: bad request; 401xx: auth (40140-40149 make the SDK renew its token, so only for real token problems);
/// 5xxxx: server faults (the SDK retries); 800xx: connection; 900xx: channel.
/// </summary>
public static class ErrorCodes
{
    public const int BadRequest = 40000;
    public const int InvalidRequestBody = 40001;
    public const int InvalidParameterValue = 40003;
    public const int InvalidCredentialFormat = 40005;
    public const int InvalidConnectionKeyOnMessage = 40006;
    public const int MessageTooLarge = 40009;
    public const int InvalidDeviceId = 40015;
    public const int InvalidChannelName = 40010;
    public const int InvalidClientId = 40012;
    public const int BatchPartialFailure = 40020;
    public const int InvalidMessageData = 40013;
    public const int UnsupportedProtocolVersion = 40017;
    public const int Unauthorized = 40100;
    public const int InvalidCredentials = 40101;
    public const int IncompatibleCredentials = 40102;
    public const int NoAuthMethod = 40106;
    public const int TokenRevocationNotEnabledForApp = 40121;
    public const int WrongKeyForRevocation = 40133;
    public const int TokenRevoked = 40141;
    public const int TokenExpired = 40142;
    public const int TokenUnrecognised = 40143;
    public const int InvalidJwt = 40144;
    public const int AppConnectionLimit = 40150;
    public const int OperationNotPermitted = 40160;
    public const int RequiresBasicAuth = 40162;
    public const int TokenRevocationNotEnabled = 40164;
    public const int Forbidden = 40300;
    public const int NotFound = 40400;
    public const int MethodNotAllowed = 40500;
    public const int RateLimited = 42910;
    public const int InboundRateLimited = 42911;
    public const int InternalError = 50000;
    public const int InternalChannelError = 50001;
    public const int InternalConnectionError = 50002;
    public const int ServiceUnavailable = 50003;
    public const int ConnectionFailed = 80000;
    public const int ConnectionDisconnected = 80003;
    public const int ConnectionExpired = 80008;
    public const int ProtocolError = 80013;
    public const int ConnectionClosed = 80017;
    public const int InvalidConnectionKey = 80018;
    public const int ChannelOperationFailed = 90000;
    public const int ChannelInvalidState = 90001;
    public const int ChannelContinuityLost = 90003;
    public const int TooManyChannels = 90010;
    public const int PresenceNoClientId = 91000;
    public const int TooManyPresenceMembers = 91003;
    public const int MutableMessagesNotEnabled = 93002;
    public const int PushPublishFailed = 103000;
    public const int PushRetriesExhausted = 103001;
    public const int PushRejectedByProvider = 103004;
    public const int PushDeviceTokenInvalid = 103005;
    public const int PushTransportNotConfigured = 103006;
    public const int PushProviderUnreachable = 103007;
    public const int PushTransportCredentialsInvalid = 103008;

    public static ErrorInfo Create(int code, string message) => new(code, StatusFor(code), message);

    /// <summary>
    /// The HTTP status Ably documents for a code: its first three digits, with the 8xxxx/9xxxx ranges mapped. Ably
    /// reports connection-limit refusals as 403 although the code is in the 401 range (as for 40111).
    /// </summary>
    public static int StatusFor(int code) => code switch
    {
        ChannelContinuityLost => 404,
        AppConnectionLimit => 403,
        >= 80000 and < 100000 => 400,
        >= 10000 and < 60000 => code / 100,
        _ => 500,
    };
}
