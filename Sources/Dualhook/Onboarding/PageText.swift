/// The onboarding page's words in each of its languages. `{brand}` and `{tenant}` are filled
/// in (escaped) when the page is drawn; the `script` texts are shown by the page's script.
struct PageText: Sendable {
    let title: String
    let heading: String
    let intro: String
    let button: String
    let privacy: String
    /// Before the account's support contact, when it has one.
    let help: String
    /// The text of the link to the account's privacy policy.
    let privacyPolicy: String
    let script: [String: String]

    static let scriptKeys = ["cancelled", "loading", "waiting", "connecting", "retry", "closed", "sdkFailed", "reported",
                             "checkFailed", "rechecking", "checkPassed"]

    static func of(_ language: PageLanguage) -> PageText {
        switch language {
        case .english:
            PageText(title: "Connect WhatsApp", heading: "Connect WhatsApp for {tenant}",
                     intro: "{brand} uses Meta's secure sign-up to connect your WhatsApp Business number. A Meta window will open; follow its steps and you will come back here.",
                     button: "Connect WhatsApp", privacy: "This page only connects your number. Afterwards your WhatsApp messages go from Meta straight to {brand}: they never pass through this page and are not kept here.",
                     help: "Questions? Ask {brand}:", privacyPolicy: "{brand}'s privacy policy",
                     script: ["cancelled": "Cancelled.", "loading": "Still loading Meta's sign-up…", "waiting": "Waiting for Meta…",
                              "connecting": "Connecting your number…", "retry": "Meta did not finish the sign-up. Please try again.",
                              "closed": "The Meta window was closed before finishing.",
                              "sdkFailed": "Meta's sign-up could not be loaded. Check your connection and reload.",
                              "reported": "Meta reported a problem with the sign-up.",
                              "checkFailed": "{brand} cannot receive your WhatsApp messages yet: its message address did not answer Meta's check. Please contact {brand}; press Connect WhatsApp to check again once they have fixed it.",
                              "rechecking": "Checking {brand}'s message address again…", "checkPassed": "{brand}'s message address answers now. Press Connect WhatsApp to continue."])
        case .portugueseBrazil:
            PageText(title: "Conectar o WhatsApp", heading: "Conectar o WhatsApp de {tenant}",
                     intro: "{brand} usa o cadastro seguro da Meta para conectar o seu número do WhatsApp Business. Uma janela da Meta vai abrir; siga as etapas e você voltará para cá.",
                     button: "Conectar o WhatsApp", privacy: "Esta página apenas conecta o seu número. Depois disso, suas mensagens do WhatsApp vão da Meta diretamente para {brand}: elas nunca passam por esta página e não ficam guardadas aqui.",
                     help: "Dúvidas? Fale com {brand}:", privacyPolicy: "Política de privacidade de {brand}",
                     script: ["cancelled": "Cancelado.", "loading": "Ainda carregando o cadastro da Meta…", "waiting": "Aguardando a Meta…",
                              "connecting": "Conectando o seu número…", "retry": "A Meta não concluiu o cadastro. Tente novamente.",
                              "closed": "A janela da Meta foi fechada antes de terminar.",
                              "sdkFailed": "Não foi possível carregar o cadastro da Meta. Verifique sua conexão e recarregue a página.",
                              "reported": "A Meta informou um problema no cadastro.",
                              "checkFailed": "{brand} ainda não pode receber as suas mensagens do WhatsApp: o endereço de mensagens não respondeu à verificação da Meta. Entre em contato com {brand}; depois da correção, toque em Conectar o WhatsApp para verificar de novo.",
                              "rechecking": "Verificando de novo o endereço de mensagens de {brand}…", "checkPassed": "O endereço de mensagens de {brand} responde agora. Toque em Conectar o WhatsApp para continuar."])
        case .spanish:
            PageText(title: "Conectar WhatsApp", heading: "Conectar WhatsApp para {tenant}",
                     intro: "{brand} usa el registro seguro de Meta para conectar tu número de WhatsApp Business. Se abrirá una ventana de Meta; sigue los pasos y volverás aquí.",
                     button: "Conectar WhatsApp", privacy: "Esta página solo conecta tu número. Después, tus mensajes de WhatsApp van de Meta directamente a {brand}: nunca pasan por esta página ni se guardan aquí.",
                     help: "¿Preguntas? Consulta a {brand}:", privacyPolicy: "Política de privacidad de {brand}",
                     script: ["cancelled": "Cancelado.", "loading": "Todavía se está cargando el registro de Meta…", "waiting": "Esperando a Meta…",
                              "connecting": "Conectando tu número…", "retry": "Meta no terminó el registro. Inténtalo de nuevo.",
                              "closed": "La ventana de Meta se cerró antes de terminar.",
                              "sdkFailed": "No se pudo cargar el registro de Meta. Revisa tu conexión y vuelve a cargar la página.",
                              "reported": "Meta informó un problema con el registro.",
                              "checkFailed": "{brand} todavía no puede recibir tus mensajes de WhatsApp: su dirección de mensajes no respondió a la verificación de Meta. Contacta con {brand}; cuando lo hayan corregido, pulsa Conectar WhatsApp para verificar de nuevo.",
                              "rechecking": "Verificando de nuevo la dirección de mensajes de {brand}…", "checkPassed": "La dirección de mensajes de {brand} ya responde. Pulsa Conectar WhatsApp para continuar."])
        case .indonesian:
            PageText(title: "Hubungkan WhatsApp", heading: "Hubungkan WhatsApp untuk {tenant}",
                     intro: "{brand} menggunakan pendaftaran aman Meta untuk menghubungkan nomor WhatsApp Business Anda. Jendela Meta akan terbuka; ikuti langkah-langkahnya dan Anda akan kembali ke sini.",
                     button: "Hubungkan WhatsApp", privacy: "Halaman ini hanya menghubungkan nomor Anda. Setelah itu, pesan WhatsApp Anda dikirim dari Meta langsung ke {brand}: pesan tidak pernah melewati halaman ini dan tidak disimpan di sini.",
                     help: "Ada pertanyaan? Tanyakan kepada {brand}:", privacyPolicy: "Kebijakan privasi {brand}",
                     script: ["cancelled": "Dibatalkan.", "loading": "Pendaftaran Meta masih dimuat…", "waiting": "Menunggu Meta…",
                              "connecting": "Menghubungkan nomor Anda…", "retry": "Meta tidak menyelesaikan pendaftaran. Silakan coba lagi.",
                              "closed": "Jendela Meta ditutup sebelum selesai.",
                              "sdkFailed": "Pendaftaran Meta tidak dapat dimuat. Periksa koneksi Anda lalu muat ulang.",
                              "reported": "Meta melaporkan masalah pada pendaftaran.",
                              "checkFailed": "{brand} belum dapat menerima pesan WhatsApp Anda: alamat pesannya tidak menjawab pemeriksaan Meta. Hubungi {brand}; setelah diperbaiki, tekan Hubungkan WhatsApp untuk memeriksa lagi.",
                              "rechecking": "Memeriksa lagi alamat pesan {brand}…", "checkPassed": "Alamat pesan {brand} sekarang menjawab. Tekan Hubungkan WhatsApp untuk melanjutkan."])
        case .hindi:
            PageText(title: "WhatsApp कनेक्ट करें", heading: "{tenant} के लिए WhatsApp कनेक्ट करें",
                     intro: "{brand} आपके WhatsApp Business नंबर को कनेक्ट करने के लिए Meta के सुरक्षित साइन-अप का उपयोग करता है। Meta की एक विंडो खुलेगी; उसके चरणों का पालन करें और आप यहाँ वापस आ जाएँगे।",
                     button: "WhatsApp कनेक्ट करें", privacy: "यह पेज केवल आपका नंबर कनेक्ट करता है। इसके बाद आपके WhatsApp संदेश Meta से सीधे {brand} तक जाते हैं: वे कभी इस पेज से होकर नहीं जाते और यहाँ संग्रहीत नहीं किए जाते।",
                     help: "कोई प्रश्न? {brand} से पूछें:", privacyPolicy: "{brand} की गोपनीयता नीति",
                     script: ["cancelled": "रद्द किया गया।", "loading": "Meta का साइन-अप अभी लोड हो रहा है…", "waiting": "Meta की प्रतीक्षा की जा रही है…",
                              "connecting": "आपका नंबर कनेक्ट किया जा रहा है…", "retry": "Meta ने साइन-अप पूरा नहीं किया। कृपया फिर से प्रयास करें।",
                              "closed": "Meta की विंडो पूरा होने से पहले बंद हो गई।",
                              "sdkFailed": "Meta का साइन-अप लोड नहीं हो सका। अपना कनेक्शन जाँचें और पेज फिर से लोड करें।",
                              "reported": "Meta ने साइन-अप में एक समस्या बताई।",
                              "checkFailed": "{brand} अभी आपके WhatsApp संदेश प्राप्त नहीं कर सकता: उसका संदेश पता Meta की जाँच का उत्तर नहीं दे सका। कृपया {brand} से संपर्क करें; ठीक होने के बाद दोबारा जाँचने के लिए WhatsApp कनेक्ट करें दबाएँ।",
                              "rechecking": "{brand} का संदेश पता फिर से जाँचा जा रहा है…", "checkPassed": "{brand} का संदेश पता अब उत्तर दे रहा है। जारी रखने के लिए WhatsApp कनेक्ट करें दबाएँ।"])
        case .german:
            PageText(title: "WhatsApp verbinden", heading: "WhatsApp für {tenant} verbinden",
                     intro: "{brand} nutzt die sichere Registrierung von Meta, um Ihre WhatsApp-Business-Nummer zu verbinden. Ein Meta-Fenster öffnet sich; folgen Sie den Schritten, danach kommen Sie hierher zurück.",
                     button: "WhatsApp verbinden", privacy: "Diese Seite verbindet nur Ihre Nummer. Danach gehen Ihre WhatsApp-Nachrichten von Meta direkt an {brand}: Sie laufen nie über diese Seite und werden hier nicht gespeichert.",
                     help: "Fragen? Wenden Sie sich an {brand}:", privacyPolicy: "Datenschutzerklärung von {brand}",
                     script: ["cancelled": "Abgebrochen.", "loading": "Die Registrierung von Meta wird noch geladen …", "waiting": "Warten auf Meta …",
                              "connecting": "Ihre Nummer wird verbunden …", "retry": "Meta hat die Registrierung nicht abgeschlossen. Bitte versuchen Sie es erneut.",
                              "closed": "Das Meta-Fenster wurde vor dem Abschluss geschlossen.",
                              "sdkFailed": "Die Registrierung von Meta konnte nicht geladen werden. Prüfen Sie Ihre Verbindung und laden Sie die Seite neu.",
                              "reported": "Meta hat ein Problem mit der Registrierung gemeldet.",
                              "checkFailed": "{brand} kann Ihre WhatsApp-Nachrichten noch nicht empfangen: die Nachrichtenadresse hat Metas Prüfung nicht beantwortet. Bitte wenden Sie sich an {brand}; sobald das behoben ist, drücken Sie WhatsApp verbinden, um erneut zu prüfen.",
                              "rechecking": "Die Nachrichtenadresse von {brand} wird erneut geprüft…", "checkPassed": "Die Nachrichtenadresse von {brand} antwortet jetzt. Drücken Sie WhatsApp verbinden, um fortzufahren."])
        case .french:
            PageText(title: "Connecter WhatsApp", heading: "Connecter WhatsApp pour {tenant}",
                     intro: "{brand} utilise l’inscription sécurisée de Meta pour connecter votre numéro WhatsApp Business. Une fenêtre Meta va s’ouvrir ; suivez ses étapes et vous reviendrez ici.",
                     button: "Connecter WhatsApp", privacy: "Cette page ne fait que connecter votre numéro. Ensuite, vos messages WhatsApp vont de Meta directement à {brand} : ils ne passent jamais par cette page et n'y sont pas conservés.",
                     help: "Des questions ? Contactez {brand} :", privacyPolicy: "Politique de confidentialité de {brand}",
                     script: ["cancelled": "Annulé.", "loading": "L’inscription Meta est encore en cours de chargement…", "waiting": "En attente de Meta…",
                              "connecting": "Connexion de votre numéro…", "retry": "Meta n’a pas terminé l’inscription. Veuillez réessayer.",
                              "closed": "La fenêtre Meta a été fermée avant la fin.",
                              "sdkFailed": "Impossible de charger l’inscription Meta. Vérifiez votre connexion et rechargez la page.",
                              "reported": "Meta a signalé un problème lors de l’inscription.",
                              "checkFailed": "{brand} ne peut pas encore recevoir vos messages WhatsApp : son adresse de messages n'a pas répondu à la vérification de Meta. Contactez {brand} ; une fois le problème corrigé, appuyez sur Connecter WhatsApp pour vérifier à nouveau.",
                              "rechecking": "Nouvelle vérification de l'adresse de messages de {brand}…", "checkPassed": "L'adresse de messages de {brand} répond maintenant. Appuyez sur Connecter WhatsApp pour continuer."])
        case .italian:
            PageText(title: "Collega WhatsApp", heading: "Collega WhatsApp per {tenant}",
                     intro: "{brand} usa la registrazione sicura di Meta per collegare il tuo numero WhatsApp Business. Si aprirà una finestra di Meta; segui i passaggi e tornerai qui.",
                     button: "Collega WhatsApp", privacy: "Questa pagina collega soltanto il tuo numero. Poi i tuoi messaggi WhatsApp vanno da Meta direttamente a {brand}: non passano mai da questa pagina e non vengono conservati qui.",
                     help: "Domande? Chiedi a {brand}:", privacyPolicy: "Informativa sulla privacy di {brand}",
                     script: ["cancelled": "Annullato.", "loading": "La registrazione di Meta è ancora in caricamento…", "waiting": "In attesa di Meta…",
                              "connecting": "Collegamento del tuo numero…", "retry": "Meta non ha completato la registrazione. Riprova.",
                              "closed": "La finestra di Meta è stata chiusa prima di terminare.",
                              "sdkFailed": "Impossibile caricare la registrazione di Meta. Controlla la connessione e ricarica la pagina.",
                              "reported": "Meta ha segnalato un problema con la registrazione.",
                              "checkFailed": "{brand} non può ancora ricevere i tuoi messaggi WhatsApp: il suo indirizzo per i messaggi non ha risposto alla verifica di Meta. Contatta {brand}; quando sarà risolto, premi Collega WhatsApp per verificare di nuovo.",
                              "rechecking": "Nuova verifica dell'indirizzo per i messaggi di {brand}…", "checkPassed": "L'indirizzo per i messaggi di {brand} ora risponde. Premi Collega WhatsApp per continuare."])
        }
    }
}
